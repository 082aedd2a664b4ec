// The bulk copy's completion marker in Redis: the record the phase guard needs before Redis stops being read.
import type { RedisStore } from '../redis/store.js';

/** The marker's Redis key (after `redis.key_prefix`, like every key the sidecar touches). */
export const COMPLETION_MARKER_KEY = 'kmp:copy:completed';
/** Per-shard records of a sharded run: `kmp:copy:shard:<index>of<count>`; the last shard writes the marker. */
export const SHARD_MARKER_PREFIX = 'kmp:copy:shard:';

/** What a finished copy records (JSON, snake_case: operators read it with redis-cli). */
export interface CopyCompletion {
  /** ISO 8601 time the run (for a sharded run: its last shard) finished. */
  completed_at: string;
  /** The copier's run id (shards of one run share it; differing ids are joined with `,`). */
  run_id: string;
  keys_scanned: number;
  keys_copied: number;
  /** Keys Kask already had, lock keys and values that cannot be converted. */
  keys_skipped: number;
  keys_failed: number;
  /** How many shards the keyspace was split into (1 = unsharded); the marker needs all of them done. */
  shards: { count: number; done: number[] };
  /** Version of the copier that wrote it. */
  version: string;
}

/** One shard's record; `shards.done` holds just its own index. */
export type ShardCompletion = CopyCompletion;

/** What a read found; only `present` lets the guard through. */
export type MarkerRead =
  | { kind: 'present'; marker: CopyCompletion }
  | { kind: 'absent' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'unreadable'; reason: string };

const markerKey = Buffer.from(COMPLETION_MARKER_KEY, 'latin1');
const shardKey = (index: number, count: number) => Buffer.from(`${SHARD_MARKER_PREFIX}${index}of${count}`);

/** Reads and checks the marker; Redis failures come back as `unreadable`, never thrown. */
export async function readCompletionMarker(store: RedisStore): Promise<MarkerRead> {
  let raw: Buffer | null;
  try {
    raw = await store.get(markerKey);
  } catch (err) {
    return { kind: 'unreadable', reason: (err as Error).message };
  }
  if (raw === null) return { kind: 'absent' };
  return parseMarker(raw);
}

/** Records a whole (unsharded) run as complete. No TTL: the marker lives as long as Redis does. */
export async function writeCompletionMarker(store: RedisStore, marker: CopyCompletion): Promise<void> {
  await store.set(markerKey, Buffer.from(JSON.stringify(marker)), 0);
}

/** Removes the marker (a new copy run starts, or a test resets). */
export async function deleteCompletionMarker(store: RedisStore): Promise<void> {
  await store.delete(markerKey);
}

/**
 * Records one shard of an `n`-way run, then writes the marker if every shard is done. Each shard writes its own
 * record before reading the others', so the last one to finish always sees all of them (two may both write: same
 * totals either way). Resolves to the marker when this call completed the run, else null.
 */
export async function recordShardCompletion(
  store: RedisStore,
  shard: ShardCompletion,
): Promise<CopyCompletion | null> {
  const count = shard.shards.count;
  const index = shard.shards.done[0] ?? 0;
  await store.set(shardKey(index, count), Buffer.from(JSON.stringify(shard)), 0);
  const all: CopyCompletion[] = [];
  for (let i = 0; i < count; i++) {
    const raw = await store.get(shardKey(i, count));
    const read = raw === null ? null : parseRecord(raw);
    if (read === null || typeof read === 'string') return null;
    all.push(read);
  }
  const marker = combineShards(all, count);
  await writeCompletionMarker(store, marker);
  return marker;
}

function combineShards(all: CopyCompletion[], count: number): CopyCompletion {
  const sum = (pick: (c: CopyCompletion) => number) => all.reduce((n, c) => n + pick(c), 0);
  return {
    completed_at:
      all
        .map((c) => c.completed_at)
        .sort()
        .at(-1) ?? new Date().toISOString(),
    run_id: [...new Set(all.map((c) => c.run_id))].join(','),
    keys_scanned: sum((c) => c.keys_scanned),
    keys_copied: sum((c) => c.keys_copied),
    keys_skipped: sum((c) => c.keys_skipped),
    keys_failed: sum((c) => c.keys_failed),
    shards: { count, done: Array.from({ length: count }, (_, i) => i) },
    version: all.at(-1)?.version ?? 'unknown',
  };
}

function parseMarker(raw: Buffer): MarkerRead {
  const record = parseRecord(raw);
  if (typeof record === 'string') return { kind: 'invalid', reason: record };
  const { count, done } = record.shards;
  for (let i = 0; i < count; i++)
    if (!done.includes(i))
      return { kind: 'invalid', reason: `shard ${i} of ${count} has not recorded completion` };
  return { kind: 'present', marker: record };
}

/** The record, or why it is not one. */
function parseRecord(raw: Buffer): CopyCompletion | string {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return `${COMPLETION_MARKER_KEY} is not JSON`;
  }
  const r = doc as Partial<CopyCompletion> | null;
  if (r === null || typeof r !== 'object') return `${COMPLETION_MARKER_KEY} is not a JSON object`;
  if (typeof r.completed_at !== 'string' || Number.isNaN(Date.parse(r.completed_at)))
    return `${COMPLETION_MARKER_KEY} has no valid completed_at`;
  const shards = r.shards;
  if (!shards || !Number.isSafeInteger(shards.count) || shards.count < 1 || !Array.isArray(shards.done))
    return `${COMPLETION_MARKER_KEY} has no valid shards`;
  return r as CopyCompletion;
}
