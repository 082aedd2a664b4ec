// Phase `dual-write`: Redis stays authoritative for reads (answered in REST form) while every write also reaches
// Kask. A sample of reads is compared against Kask off the request path (shadow compare).
import { redisToEnvelope } from '../codec/convert.js';
import { dualDelete, dualSet } from './dual-mutations.js';
import type { DualStores } from './dual-stores.js';
import { readKask } from './kask-only.js';
import { HIT, MISS, type Phase, type ReadOutcome, type RequestMeta, type WriteOutcome } from './phase.js';

export class DualWritePhase implements Phase {
  readonly name = 'dual-write' as const;

  constructor(
    readonly stores: DualStores,
    /** Fraction of GETs shadow-compared against Kask. */
    readonly shadowSampleRate: number,
    readonly random: () => number = Math.random,
  ) {}

  async get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    const { redis, observer, values } = this.stores;
    let stored: Buffer | null;
    try {
      stored = await redis.get(key);
    } catch (err) {
      observer.backendFailure('redis', 'get', err, meta);
      return this.#kaskFailover(key, meta);
    }
    let answer: ReadOutcome = MISS;
    if (stored !== null) {
      const converted = redisToEnvelope(stored, values);
      if (converted.ok) answer = HIT(converted.bytes);
      else if (converted.reason !== 'FALSE_VALUE')
        observer.conversionFailure('redis_to_kask', converted.reason, key, meta);
    }
    observer.read(answer.kind === 'hit' ? 'redis' : 'miss');
    if (this.shadowSampleRate > 0 && this.random() < this.shadowSampleRate)
      this.#shadowCompare(Buffer.from(key), answer, meta);
    return answer;
  }

  set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualSet(this.stores, key, value, meta);
  }

  delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualDelete(this.stores, key, meta);
  }

  /** Redis down: Kask has every write made since dual-write began, which beats an error MediaWiki turns into a miss. */
  #kaskFailover(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    return readKask(this.stores.kask, this.stores.observer, key, meta);
  }

  /** Set when another phase takes over: no new background work may start (phase-switch.ts). */
  #retired = false;

  retire(): void {
    this.#retired = true;
  }

  #shadowCompare(key: Buffer, answer: ReadOutcome, meta: RequestMeta): void {
    if (this.#retired) return;
    const { kask, observer } = this.stores;
    this.stores.background.run(async () => {
      try {
        const read = await kask.get(key, meta.forward);
        if (read.kind === 'miss')
          observer.shadow(answer.kind === 'hit' ? 'kask_missing' : 'match', key, meta);
        else
          observer.shadow(
            answer.kind === 'hit' && answer.value.equals(read.value) ? 'match' : 'mismatch',
            key,
            meta,
          );
      } catch {
        observer.shadow('error', key, meta);
      }
    });
  }
}
