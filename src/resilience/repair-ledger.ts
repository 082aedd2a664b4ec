// Where the repair queue lives durably: a few atomic operations on a shared store. In production that is Redis
// (RedisRepairLedger, one script per operation, so sidecars never interleave inside one); the protocol simulation
// (test/simulation/) supplies its own, which is why the queue logic talks to this interface and not to Redis.
import type { GuardedRedis } from './guarded-backends.js';
import { COMPLETE_SCRIPT, DUE_SCRIPT, RECORD_SCRIPT, RETRY_SCRIPT } from './repair-scripts.js';

/** A queued key as read for a repair attempt. */
export interface QueuedKey {
  key: Buffer;
  /** When it became (or becomes) repairable, ms since the epoch. */
  dueMs: number;
  /** Read with the key; a removal or reschedule applies only while it is unchanged. */
  generation: string;
  /** Failed repair attempts so far (drives the backoff). */
  failures: number;
}

export interface RepairLedger {
  /**
   * Adds keys, or moves a queued key's due time later; every recorded key's generation moves on. Returns the
   * indices of entries refused because the queue holds `maxKeys` already.
   */
  record(entries: ReadonlyArray<{ key: Buffer; dueMs: number }>, maxKeys: number): Promise<number[]>;
  /** At most `count` keys due at `nowMs`, earliest due first. */
  due(nowMs: number, count: number): Promise<QueuedKey[]>;
  /** Removes a repaired key unless it was recorded again since it was read; true when removed. */
  complete(entry: QueuedKey): Promise<boolean>;
  /** A failed attempt: counts it and sets the next due time, unless the key was recorded again meanwhile. */
  retryAt(entry: QueuedKey, dueMs: number): Promise<boolean>;
  depth(): Promise<number>;
}

/**
 * Keys of the queue (after `redis.key_prefix`, like every key). `kmp:` keys are the sidecar's own (the bulk tools
 * skip them); `{repair}` keeps both in one Redis Cluster slot, as the scripts need.
 */
export const REPAIR_QUEUE_KEYS = { queue: 'kmp:{repair}:due', generations: 'kmp:{repair}:gen' } as const;

export function parseGeneration(generation: string): number {
  const failures = Number(generation.split(':')[1]);
  return Number.isSafeInteger(failures) ? failures : 0;
}

/** ioredis has EVAL with Buffer replies (keys are binary) on Redis and Cluster alike, but does not type it. */
interface EvalBuffer {
  evalBuffer(script: string, numKeys: number, ...args: Array<string | Buffer>): Promise<unknown>;
}

export class RedisRepairLedger implements RepairLedger {
  constructor(readonly redis: () => Promise<GuardedRedis>) {}

  async #keys(): Promise<{ redis: GuardedRedis; keys: [Buffer, Buffer] }> {
    const redis = await this.redis();
    const key = (name: string) => redis.store.key(Buffer.from(name));
    return { redis, keys: [key(REPAIR_QUEUE_KEYS.queue), key(REPAIR_QUEUE_KEYS.generations)] };
  }

  async record(entries: ReadonlyArray<{ key: Buffer; dueMs: number }>, maxKeys: number): Promise<number[]> {
    const { redis, keys } = await this.#keys();
    const args = entries.flatMap((e) => [String(Math.ceil(e.dueMs)), e.key]);
    const refused = (await redis.command('EVAL', (c) =>
      c.eval(RECORD_SCRIPT, 2, ...keys, String(maxKeys), ...args),
    )) as number[];
    return refused.map((i) => i - 1);
  }

  async due(nowMs: number, count: number): Promise<QueuedKey[]> {
    const { redis, keys } = await this.#keys();
    const flat = (await redis.command('EVAL', (c) =>
      (c as unknown as EvalBuffer).evalBuffer(
        DUE_SCRIPT,
        2,
        ...keys,
        String(Math.floor(nowMs)),
        String(count),
      ),
    )) as Buffer[];
    const out: QueuedKey[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const generation = flat[i + 2]!.toString();
      out.push({
        key: flat[i]!,
        dueMs: Number(flat[i + 1]!.toString()),
        generation,
        failures: parseGeneration(generation),
      });
    }
    return out;
  }

  async complete(entry: QueuedKey): Promise<boolean> {
    const { redis, keys } = await this.#keys();
    const removed = await redis.command('EVAL', (c) =>
      c.eval(COMPLETE_SCRIPT, 2, ...keys, entry.key, entry.generation),
    );
    return removed === 1;
  }

  async retryAt(entry: QueuedKey, dueMs: number): Promise<boolean> {
    const { redis, keys } = await this.#keys();
    const applied = await redis.command('EVAL', (c) =>
      c.eval(RETRY_SCRIPT, 2, ...keys, entry.key, entry.generation, String(Math.ceil(dueMs))),
    );
    return applied === 1;
  }

  async depth(): Promise<number> {
    const { redis, keys } = await this.#keys();
    return redis.command('ZCARD', (c) => c.zcard(keys[0]));
  }
}
