// The consistency rule (docs/protocol.md): Redis is the single authority and the serialization point, and Kask
// converges to it. After every Kask mutation, re-read Redis; if it no longer holds what the mutation was made
// from, another writer got in between, so make Kask match Redis's current value and look again. Writers touch Redis
// before Kask, so the last Kask mutation is always followed by a re-read that sees Redis's final value. Rounds are
// bounded by count and by the request's deadline; what is left goes to the repair queue.
import { redisToEnvelope } from '../codec/convert.js';
import { type DualStores, remaining } from './dual-stores.js';
import type { RequestMeta } from './phase.js';

/** `deferred`: out of rounds or time; the key is queued for repair. */
export type Convergence = 'stable' | 'repaired' | 'deferred';

/** Is the Kask-side meaning of two Redis states the same (both absent, or the same bytes)? */
function sameState(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/**
 * `basis` is the Redis state the last Kask mutation was made from (null = absent); `deadline` a clock value.
 * Throws if a store fails (the caller queues the key: a Kask write that failed may still land).
 */
export async function convergeKaskToRedis(
  stores: DualStores,
  key: Buffer,
  basis: Buffer | null,
  deadline: number,
  meta?: RequestMeta,
): Promise<Convergence> {
  const { redisCallMs, kaskCallMs } = stores.budget;
  let expected = basis;
  for (let round = 0; round < stores.convergenceMaxRounds; round++) {
    if (remaining(stores, deadline) < redisCallMs) break;
    const current = await stores.redis.get(key);
    if (sameState(current, expected)) {
      if (round > 0) stores.observer.convergence('repaired', key, meta);
      return round === 0 ? 'stable' : 'repaired';
    }
    // Another round only if its Kask write and the re-read after it still fit: never answer after the deadline.
    if (remaining(stores, deadline) < kaskCallMs + redisCallMs) break;
    await writeKaskFromRedis(stores, key, current, meta);
    expected = current;
  }
  stores.observer.convergence('gave_up', key, meta);
  stores.repairs.record(key, 'not_converged');
  return 'deferred';
}

/**
 * Makes Kask hold the REST form of a Redis state: POST the converted value, or DELETE when Redis has nothing
 * usable (absent, `false`, or a value that cannot be converted faithfully — counted, never written).
 */
export async function writeKaskFromRedis(
  stores: DualStores,
  key: Buffer,
  redisValue: Buffer | null,
  meta?: RequestMeta,
): Promise<void> {
  const forward = meta?.forward ?? {};
  if (redisValue !== null) {
    const converted = redisToEnvelope(redisValue, stores.values);
    if (converted.ok) return stores.kask.set(key, converted.bytes, forward);
    if (converted.reason !== 'FALSE_VALUE')
      stores.observer.conversionFailure('redis_to_kask', converted.reason, key, meta);
  }
  return stores.kask.delete(key, forward);
}
