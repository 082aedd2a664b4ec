// The durable repair queue (SPEC §5): keys one store may hold wrong, kept in Redis so they survive restarts and any
// sidecar can repair them. Recording never blocks a request; while Redis cannot take a key it waits in a bounded
// buffer; a key that can be kept nowhere is counted lost and logged. Nothing is dropped silently.
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import { keyForLog } from '../ops/phase-observer.js';
import type { RepairReason, RepairSink } from '../phases/dual-stores.js';
import type { GuardedRedis } from './guarded-backends.js';
import { COMPLETE_SCRIPT, DEPTH_SCRIPT, PRESENT_SCRIPT, RECORD_SCRIPT } from './repair-scripts.js';

/** Which store is behind: `kask` (re-drive Kask from Redis) or `redis` (catch Redis up with Kask). */
export type RepairDirection = 'kask' | 'redis';

/**
 * Redis keys of the queue (after `redis.key_prefix`, like every key): a sorted set (member = key, score = first
 * failure in ms) and a generation hash per direction. `kmp:` keys are the sidecar's own, skipped by the bulk
 * tools; the `{repair}` hash tag keeps all four in one Redis Cluster slot, as the scripts need.
 */
export const REPAIR_KEYS: Record<RepairDirection, { queue: string; generations: string }> = {
  kask: { queue: 'kmp:{repair}:kask', generations: 'kmp:{repair}:kask:gen' },
  redis: { queue: 'kmp:{repair}:redis', generations: 'kmp:{repair}:redis:gen' },
};

/** The queue's keys as stored (with the configured prefix). */
function keysOf(redis: GuardedRedis, direction: RepairDirection): { queue: Buffer; generations: Buffer } {
  const names = REPAIR_KEYS[direction];
  return {
    queue: redis.store.key(Buffer.from(names.queue)),
    generations: redis.store.key(Buffer.from(names.generations)),
  };
}

export interface QueuedKey {
  key: Buffer;
  firstFailureMs: number;
  /** When the key was last recorded (its generation's time part). */
  lastFailureMs: number;
  /** Read before the repair; the key is removed only if it is unchanged after it. */
  generation: string;
}

export interface RepairQueueOptions {
  redis: () => Promise<GuardedRedis>;
  maxQueueKeys: number;
  bufferKeys: number;
  metrics: Metrics;
  logger: Logger;
}

interface Buffered {
  direction: RepairDirection;
  key: Buffer;
  reason: RepairReason;
  firstFailureMs: number;
  lastFailureMs: number;
  /** Bumped when the key is recorded again while buffered, so a flush in flight does not swallow it. */
  version: number;
}

const FLUSH_BATCH = 500;
const FLUSH_RETRY_MS = 250;

export function directionOf(reason: RepairReason): RepairDirection {
  return reason === 'redis_write_failed' || reason === 'redis_delete_failed' ? 'redis' : 'kask';
}

export class RepairQueue implements RepairSink {
  readonly #opts: RepairQueueOptions;
  readonly #buffer = new Map<string, Buffered>();
  #flushing: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  /** Keys in Redis's `redis` direction when last counted (by any sidecar); -1 = unknown. */
  #redisBehindCount = -1;
  /** Keys in Redis (both directions) when last counted; the depth gauge adds what is buffered here. */
  #durableCount = 0;

  constructor(opts: RepairQueueOptions) {
    this.#opts = opts;
  }

  record(key: Buffer, reason: RepairReason): void {
    const direction = directionOf(reason);
    const id = `${direction}:${key.toString('latin1')}`;
    const known = this.#buffer.get(id);
    if (known) {
      known.version++;
      known.lastFailureMs = Date.now();
    } else if (this.#closed || this.#buffer.size >= this.#opts.bufferKeys) {
      this.#lost(direction, key, reason, this.#closed ? 'shutting down' : 'repair buffer full');
      return;
    } else {
      // Copy: the caller's key may be a view into a request buffer that is reused.
      const now = Date.now();
      const entry = {
        direction,
        key: Buffer.from(key),
        reason,
        firstFailureMs: now,
        lastFailureMs: now,
        version: 0,
      };
      this.#buffer.set(id, entry);
      this.#publishDepth();
    }
    this.#scheduleFlush();
  }

  /** Keys recorded in this process but not yet in Redis. */
  get buffered(): number {
    return this.#buffer.size;
  }

  isBuffered(direction: RepairDirection, key: Buffer): boolean {
    return this.#buffer.has(`${direction}:${key.toString('latin1')}`);
  }

  /**
   * Is the key's Redis copy known to be behind Kask? Free while the `redis` direction is empty (counted by the
   * repairer every pass); otherwise one ZSCORE. When Redis cannot answer, the copy cannot be trusted either: true.
   */
  redisBehind(key: Buffer): boolean | Promise<boolean> {
    if (this.isBuffered('redis', key)) return true;
    if (this.#redisBehindCount === 0) return false;
    return this.#opts
      .redis()
      .then((redis) => redis.command('ZSCORE', (c) => c.zscore(keysOf(redis, 'redis').queue, key)))
      .then(
        (score) => score !== null,
        () => true,
      );
  }

  /** Moves buffered keys into Redis; on failure they stay buffered and a retry is scheduled. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async depth(): Promise<Record<RepairDirection, number>> {
    const redis = await this.#opts.redis();
    const [kask, behind] = (await redis.command('EVAL', (c) =>
      c.eval(DEPTH_SCRIPT, 2, keysOf(redis, 'kask').queue, keysOf(redis, 'redis').queue),
    )) as [number, number];
    this.#redisBehindCount = behind;
    this.#durableCount = kask + behind;
    this.#publishDepth();
    return { kask, redis: behind };
  }

  /** The `count` keys that failed first, with their generations. */
  async oldest(direction: RepairDirection, count: number): Promise<QueuedKey[]> {
    const redis = await this.#opts.redis();
    const { queue, generations } = keysOf(redis, direction);
    const flat = await redis.command('ZRANGE', (c) => c.zrangeBuffer(queue, 0, count - 1, 'WITHSCORES'));
    const keys: QueuedKey[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      keys.push({
        key: flat[i]!,
        firstFailureMs: Number(flat[i + 1]!.toString()),
        lastFailureMs: 0,
        generation: '',
      });
    if (keys.length === 0) return keys;
    const gens = await redis.command('HMGET', (c) => c.hmget(generations, ...keys.map((k) => k.key)));
    keys.forEach((k, i) => {
      k.generation = gens[i] ?? '';
      k.lastFailureMs = Number.parseInt(k.generation, 10) || k.firstFailureMs;
    });
    return keys;
  }

  /** Removes a repaired key unless it was recorded again meanwhile; true when removed. */
  async complete(direction: RepairDirection, entry: QueuedKey): Promise<boolean> {
    const redis = await this.#opts.redis();
    const { queue, generations } = keysOf(redis, direction);
    const removed = await redis.command('EVAL', (c) =>
      c.eval(COMPLETE_SCRIPT, 2, queue, generations, entry.key, entry.generation),
    );
    return removed === 1;
  }

  /** Which of `keys` are queued in `direction` (in Redis or still buffered here). */
  async present(direction: RepairDirection, keys: Buffer[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const redis = await this.#opts.redis();
    const found = (await redis.command('EVAL', (c) =>
      c.eval(PRESENT_SCRIPT, 1, keysOf(redis, direction).queue, ...keys),
    )) as number[];
    const inRedis = new Set(found);
    return keys.map((key, i) => inRedis.has(i + 1) || this.isBuffered(direction, key));
  }

  /** Last flush; whatever still cannot be stored is counted lost and logged, key by key. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    await this.flush().catch(() => {});
    for (const entry of this.#buffer.values())
      this.#lost(entry.direction, entry.key, entry.reason, 'Redis unreachable at shutdown');
    this.#buffer.clear();
    this.#publishDepth();
  }

  #scheduleFlush(): void {
    if (this.#retry === null) void this.flush();
  }

  async #flushAll(): Promise<void> {
    while (this.#buffer.size > 0) {
      const batch = [...this.#buffer.entries()].slice(0, FLUSH_BATCH);
      try {
        await this.#store(batch.map(([, entry]) => entry));
      } catch {
        if (!this.#closed) this.#retryLater();
        return;
      }
      for (const [id, entry] of batch) if (entry.version === 0) this.#buffer.delete(id);
      for (const [, entry] of batch) entry.version = 0;
      this.#durableCount += batch.length; // an upper bound until the next count
      this.#publishDepth();
    }
  }

  async #store(entries: Buffered[]): Promise<void> {
    const redis = await this.#opts.redis();
    for (const direction of ['kask', 'redis'] as const) {
      const group = entries.filter((e) => e.direction === direction);
      if (group.length === 0) continue;
      const { queue, generations } = keysOf(redis, direction);
      const args = group.flatMap((e) => [String(e.firstFailureMs), String(e.lastFailureMs), e.key]);
      const refused = (await redis.command('EVAL', (c) =>
        c.eval(RECORD_SCRIPT, 2, queue, generations, String(this.#opts.maxQueueKeys), ...args),
      )) as number[];
      if (direction === 'redis') this.#redisBehindCount = -1;
      const full = new Set(refused);
      group.forEach((e, i) => {
        if (full.has(i + 1))
          this.#lost(direction, e.key, e.reason, 'repair queue full (repair.max_queue_keys)');
        else this.#opts.metrics.repairs.inc({ outcome: 'queued' });
      });
    }
  }

  /**
   * kmp_repair_queue_depth: keys in Redis as last counted plus keys buffered here. Kept current while Redis is
   * away too, so an outage's backlog shows while it builds up.
   */
  #publishDepth(): void {
    this.#opts.metrics.repairQueueDepth.set(this.#durableCount + this.#buffer.size);
  }

  #retryLater(): void {
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.flush();
    }, FLUSH_RETRY_MS);
    this.#retry.unref();
  }

  #lost(direction: RepairDirection, key: Buffer, reason: RepairReason, why: string): void {
    this.#opts.metrics.repairs.inc({ outcome: 'lost' });
    this.#opts.logger.error(
      {
        'event.action': 'repair.record',
        'event.outcome': 'failure',
        'event.reason': reason,
        'kmp.key': keyForLog(key),
        'kmp.repair.direction': direction,
        'error.message': why,
      },
      'key needs repair but could not be queued: repair it by hand',
    );
  }
}
