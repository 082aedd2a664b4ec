// Walking the keyspace for the read-mostly tools (survey, verify): every matching key batch by batch, or a
// uniform random sample of `n` keys (reservoir sampling over the whole SCAN: only keys are held, never values).
import { isLockKey } from '../phases/lock-keys.js';
import { freshStreams, type KeyRead, KeyspaceScanner, readKeys } from './keyspace.js';
import type { BulkRedis } from './stores.js';

export interface WalkSettings {
  patterns: string[];
  /** 0 = every key; otherwise a random sample of this many. */
  sample: number;
  keyPrefix: string;
  batchSize?: number;
  /** Updated as the walk goes, for the caller's progress display. */
  progress?: WalkProgress;
}

/** How far a walk has got. */
export interface WalkProgress {
  /** Matching keys scanned so far. */
  scanned: number;
  /** Keys whose values were read and handed on. */
  examined: number;
}

/** What the walk saw besides the keys it hands out. */
export interface WalkTally {
  /** Matching keys per pattern (a key matched by two patterns counts under the first). */
  keysPerPattern: Record<string, number>;
  ownKeys: number;
  lockKeys: number;
  /** Matching keys other than own and lock keys: what the values are examined (or sampled) from. */
  dataKeys: number;
}

const OWN_PREFIX = Buffer.from('kmp:');

export function isOwnKey(key: Buffer): boolean {
  return key.length >= OWN_PREFIX.length && key.subarray(0, OWN_PREFIX.length).equals(OWN_PREFIX);
}

/**
 * Calls `onBatch` with data keys and their reads (GET + PTTL): every key, batch by batch, or at the end the
 * sample, grouped by master. Resolves to the tally.
 */
export async function walkKeyspace(
  redis: BulkRedis,
  s: WalkSettings,
  onBatch: (keys: Buffer[], reads: KeyRead[]) => Promise<void>,
): Promise<WalkTally> {
  const scanner = new KeyspaceScanner(
    redis.nodes,
    s.patterns,
    s.keyPrefix,
    s.batchSize ?? 1000,
    freshStreams(redis.nodes, s.patterns),
  );
  const tally: WalkTally = {
    keysPerPattern: Object.fromEntries(s.patterns.map((p) => [p, 0])),
    ownKeys: 0,
    lockKeys: 0,
    dataKeys: 0,
  };
  const reservoir: { node: string; key: Buffer }[] = [];
  for (;;) {
    const batch = await scanner.next();
    if (!batch) break;
    scanner.commit(batch);
    const stream = scanner.committed[batch.stream]!;
    tally.keysPerPattern[stream.pattern]! += batch.keys.length;
    if (s.progress) s.progress.scanned += batch.keys.length;
    const data: Buffer[] = [];
    for (const key of batch.keys) {
      if (isOwnKey(key)) tally.ownKeys++;
      else if (isLockKey(key)) tally.lockKeys++;
      else {
        tally.dataKeys++;
        if (s.sample === 0) data.push(key);
        else if (reservoir.length < s.sample) reservoir.push({ node: stream.node, key });
        else {
          const slot = Math.floor(Math.random() * tally.dataKeys);
          if (slot < s.sample) reservoir[slot] = { node: stream.node, key };
        }
      }
    }
    if (data.length > 0) {
      await onBatch(data, await readKeys(redis.store, nodeById(redis, stream.node), data));
      if (s.progress) s.progress.examined += data.length;
    }
  }
  for (const node of redis.nodes) {
    const keys = reservoir.filter((r) => r.node === node.id).map((r) => r.key);
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      await onBatch(chunk, await readKeys(redis.store, node, chunk));
      if (s.progress) s.progress.examined += chunk.length;
    }
  }
  return tally;
}

function nodeById(redis: BulkRedis, id: string) {
  const node = redis.nodes.find((n) => n.id === id);
  if (!node) throw new Error(`no Redis master ${id}`);
  return node;
}
