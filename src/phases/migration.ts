// Phase `migration`: Kask first; a Kask miss is looked up in Redis, answered in REST form and backfilled into Kask
// (then converged, so a backfill can neither clobber a newer write nor resurrect a delete). Kask failing → Redis.
import { redisToEnvelope } from '../codec/convert.js';
import { backfillKey } from './backfill.js';
import { dualDelete, dualSet } from './dual-mutations.js';
import type { DualStores } from './dual-stores.js';
import { isLockKey } from './lock-keys.js';
import type { ReadSource } from './observer.js';
import { HIT, MISS, type Phase, type ReadOutcome, type RequestMeta, type WriteOutcome } from './phase.js';

export class MigrationPhase implements Phase {
  readonly name = 'migration' as const;
  /** Keys with a backfill under way in this process: a burst of reads of one missing key backfills it once. */
  readonly #backfilling = new Set<string>();
  /** Set when another phase takes over: no new background work may start (phase-switch.ts). */
  #retired = false;

  constructor(
    readonly stores: DualStores,
    readonly backfillEnabled: boolean,
  ) {}

  async get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    const { kask, observer } = this.stores;
    let read: Awaited<ReturnType<typeof kask.get>>;
    try {
      read = await kask.get(key, meta.forward);
    } catch (err) {
      observer.backendFailure('kask', 'get', err, meta);
      return this.#fromRedis(key, meta, 'redis_failover');
    }
    if (read.kind === 'hit') {
      observer.read('kask');
      return HIT(read.value);
    }
    return this.#fromRedis(key, meta, 'redis_fallback');
  }

  set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualSet(this.stores, key, value, meta);
  }

  retire(): void {
    this.#retired = true;
  }

  delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualDelete(this.stores, key, meta);
  }

  /** Redis answers for Kask: after a Kask miss (and then backfills), or instead of a failing Kask (no backfill). */
  async #fromRedis(
    key: Buffer,
    meta: RequestMeta,
    source: 'redis_fallback' | 'redis_failover',
  ): Promise<ReadOutcome> {
    const { redis, observer, values } = this.stores;
    const missSource: ReadSource = source === 'redis_fallback' ? 'miss' : 'redis_failover';
    let stored: Buffer | null;
    try {
      stored = await redis.get(key);
    } catch (err) {
      observer.backendFailure('redis', 'get', err, meta);
      observer.read(missSource);
      return MISS;
    }
    if (stored === null) {
      observer.read(missSource);
      return MISS;
    }
    const converted = redisToEnvelope(stored, values);
    if (!converted.ok) {
      if (converted.reason !== 'FALSE_VALUE')
        observer.conversionFailure('redis_to_kask', converted.reason, key, meta);
      observer.read(missSource);
      return MISS;
    }
    observer.read(source);
    if (source === 'redis_fallback') this.#scheduleBackfill(key, stored, converted.bytes, meta);
    return HIT(converted.bytes);
  }

  #scheduleBackfill(key: Buffer, stored: Buffer, envelope: Buffer, meta: RequestMeta): void {
    const id = key.toString('latin1');
    if (!this.backfillEnabled || this.#retired || isLockKey(key) || this.#backfilling.has(id)) {
      this.stores.observer.backfill('skipped');
      return;
    }
    this.#backfilling.add(id);
    // The key outlives the request's buffers: copy before the answer goes out.
    const ownKey = Buffer.from(key);
    this.stores.background.run(() =>
      this.backfill(ownKey, stored, envelope, meta).finally(() => this.#backfilling.delete(id)),
    );
  }

  /** The shared backfill step (backfill.ts); a seam for tests that run a deliberately broken variant. */
  protected async backfill(key: Buffer, stored: Buffer, envelope: Buffer, meta: RequestMeta): Promise<void> {
    this.stores.observer.backfill(await backfillKey(this.stores, key, stored, envelope, meta));
  }
}
