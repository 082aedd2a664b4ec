// Re-driving one key into Kask from Redis, the repair step of SPEC §4: read Redis, make Kask match it, converge.
import { convergeKaskToRedis, writeKaskFromRedis } from '../phases/convergence.js';
import type { DualStores } from '../phases/dual-stores.js';

/**
 * True when Kask ended equal to Redis's converted value (or both absent). False when a concurrent writer kept
 * Redis moving past the convergence bound: convergence has then queued the key again itself. Throws if a store fails.
 */
export async function repairKask(stores: DualStores, key: Buffer): Promise<boolean> {
  const current = await stores.redis.get(key);
  await writeKaskFromRedis(stores, key, current);
  return (await convergeKaskToRedis(stores, key, current)) !== 'gave_up';
}
