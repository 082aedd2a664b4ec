// The keyspace the bulk tools walk: SCAN with MATCH over every master (one for a standalone Redis, each master of
// a Redis Cluster), one pattern at a time, with cursors that a checkpoint can save and a resumed run restore.
// A key matched by several patterns belongs to the first of them only, so it is handled exactly once.
import { Cluster, type Redis } from 'ioredis';
import { nullIfWrongType, type RedisStore, toRedisError } from '../redis/store.js';
import { escapeGlob, globMatcher } from './glob.js';

/** One master to SCAN: its id (`host:port`, or `redis` for a standalone server) and a client talking to it. */
export interface ScanNode {
  id: string;
  client: Redis;
}

/** Where one (master, pattern) walk stands: the cursor of the next SCAN, or done. */
export interface ScanStream {
  node: string;
  pattern: string;
  cursor: string;
  done: boolean;
}

/** One SCAN call's keys (prefix removed, already filtered to the stream's own pattern) and the cursor after it. */
export interface ScannedBatch {
  stream: number;
  keys: Buffer[];
  cursorAfter: string;
  done: boolean;
}

/** Echo's seen-time keys: global (central user id) and per-wiki (local user id). */
export const ECHO_PATTERNS = ['global:echo:seen:*', '*:echo:seen:*'];

/** The masters to SCAN, in a stable order. */
export function scanNodes(store: RedisStore): ScanNode[] {
  const client = store.client;
  if (!(client instanceof Cluster)) return [{ id: 'redis', client }];
  return client
    .nodes('master')
    .map((node) => ({ id: `${node.options.host}:${node.options.port}`, client: node }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every (master, pattern) walk from the start. */
export function freshStreams(nodes: ScanNode[], patterns: string[]): ScanStream[] {
  return nodes.flatMap((n) => patterns.map((pattern) => ({ node: n.id, pattern, cursor: '0', done: false })));
}

/** Keys on all masters together (DBSIZE): an upper bound for progress and ETA. */
export async function estimateKeys(nodes: ScanNode[]): Promise<number> {
  const sizes = await Promise.all(nodes.map((n) => n.client.dbsize()));
  return sizes.reduce((a, b) => a + b, 0);
}

export class KeyspaceScanner {
  /** What has been fully handled (what a checkpoint saves). */
  readonly committed: ScanStream[];
  /** Where the next SCAN reads from: may run one batch ahead of `committed`. */
  readonly #reading: ScanStream[];
  readonly #nodes: Map<string, ScanNode>;
  readonly #prefix: Buffer;
  readonly #matchPrefix: string;
  readonly #earlier: Map<string, ((key: Buffer) => boolean)[]>;

  constructor(
    nodes: ScanNode[],
    readonly patterns: string[],
    keyPrefix: string,
    readonly batchSize: number,
    streams: ScanStream[],
  ) {
    this.#nodes = new Map(nodes.map((n) => [n.id, n]));
    this.committed = streams.map((s) => ({ ...s }));
    this.#reading = streams.map((s) => ({ ...s }));
    this.#prefix = Buffer.from(keyPrefix, 'utf8');
    this.#matchPrefix = escapeGlob(keyPrefix);
    const matchers = patterns.map(globMatcher);
    this.#earlier = new Map(patterns.map((p, i) => [p, matchers.slice(0, i)]));
  }

  get finished(): boolean {
    return this.committed.every((s) => s.done);
  }

  /** Scans the next batch (null when every walk is done). Does not move the committed position. */
  async next(): Promise<ScannedBatch | null> {
    const index = this.#reading.findIndex((s) => !s.done);
    if (index === -1) return null;
    const stream = this.#reading[index]!;
    const node = this.#nodes.get(stream.node);
    if (!node) throw new Error(`no Redis master ${stream.node}`);
    const [cursor, raw] = await node.client
      .scanBuffer(stream.cursor, 'MATCH', this.#matchPrefix + stream.pattern, 'COUNT', this.batchSize)
      .catch((err: unknown) => {
        throw toRedisError('SCAN', err);
      });
    const cursorAfter = cursor.toString();
    stream.cursor = cursorAfter;
    stream.done = cursorAfter === '0';
    const earlier = this.#earlier.get(stream.pattern) ?? [];
    const keys: Buffer[] = [];
    for (const full of raw) {
      const key = this.#prefix.length === 0 ? full : full.subarray(this.#prefix.length);
      if (!earlier.some((matches) => matches(key))) keys.push(key);
    }
    return { stream: index, keys, cursorAfter, done: stream.done };
  }

  /** Marks a batch as fully handled. Batches of one walk must be committed in the order they were scanned. */
  commit(batch: ScannedBatch): void {
    const stream = this.committed[batch.stream]!;
    stream.cursor = batch.cursorAfter;
    stream.done = batch.done;
  }
}

/** What a pipelined GET + PTTL found for one key: the value (null = gone) and PTTL in ms (-1 = no expiry). */
export interface KeyRead {
  value: Buffer | null;
  pttlMs: number;
}

/**
 * GET + PTTL (or GET alone) for a batch of keys in one pipeline to the master that holds them. A key that moved to another master
 * meanwhile (cluster resharding) is read again through the store, which follows the redirection.
 */
export async function readKeys(
  store: RedisStore,
  node: ScanNode,
  keys: Buffer[],
  withTtl = true,
): Promise<KeyRead[]> {
  if (keys.length === 0) return [];
  if (!withTtl) return readValuesOnly(store, keys);
  const pipeline = node.client.pipeline();
  for (const key of keys) {
    const full = store.key(key);
    pipeline.getBuffer(full).pttl(full);
  }
  const replies =
    (await pipeline.exec().catch((err: unknown) => {
      throw toRedisError('GET', err);
    })) ?? [];
  const reads: KeyRead[] = [];
  for (let i = 0; i < keys.length; i++) {
    const [getErr, value] = replies[2 * i] ?? [new Error('no reply'), null];
    const [ttlErr, pttl] = replies[2 * i + 1] ?? [new Error('no reply'), -2];
    if (getErr || ttlErr) {
      const full = store.key(keys[i]!);
      const pttlMs = await store.client.pttl(full).catch((err: unknown) => {
        throw toRedisError('PTTL', err);
      });
      reads.push({ value: await store.get(keys[i]!).catch(nullIfWrongType), pttlMs });
    } else reads.push({ value: (value as Buffer | null) ?? null, pttlMs: Number(pttl) });
  }
  return reads;
}

/**
 * GET only (the TTL is not needed): PTTL is reported as -1. RedisStore.getMany: one MGET on a standalone Redis; on a
 * Cluster one GET each through the cluster client, which pipelines them per node and follows slot moves.
 */
async function readValuesOnly(store: RedisStore, keys: Buffer[]): Promise<KeyRead[]> {
  return (await store.getMany(keys)).map((value) => ({ value, pttlMs: -1 }));
}
