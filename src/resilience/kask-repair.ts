// Re-driving one key into Kask from Redis, the repair step of the consistency rule (docs/protocol.md): read Redis,
// make Kask match it, converge. Safe at any time in a fleet whose phases all write Redis first, because it is what
// every writer already does after its own Kask mutation.
import { convergeKaskToRedis, writeKaskFromRedis } from '../phases/convergence.js';
import { type DualStores, deadlineFor } from '../phases/dual-stores.js';

/** `kask_unknown`: a Kask write or delete failed, so it may still land; `redis`: Redis failed, nothing was written. */
export type RepairResult =
  | { kind: 'repaired' }
  | { kind: 'deferred' }
  | { kind: 'failed'; backend: 'redis' | 'kask'; error: unknown; kaskOutcomeUnknown: boolean };

/**
 * `deferred`: a concurrent writer kept Redis moving past the rounds or the deadline; convergence has queued the
 * key again itself. Never throws.
 */
export async function repairKask(stores: DualStores, key: Buffer): Promise<RepairResult> {
  const deadline = deadlineFor(stores);
  let current: Buffer | null;
  try {
    current = await stores.redis.get(key);
  } catch (error) {
    return { kind: 'failed', backend: 'redis', error, kaskOutcomeUnknown: false };
  }
  try {
    await writeKaskFromRedis(stores, key, current);
  } catch (error) {
    return { kind: 'failed', backend: 'kask', error, kaskOutcomeUnknown: true };
  }
  try {
    const converged = await convergeKaskToRedis(stores, key, current, deadline);
    return converged === 'deferred' ? { kind: 'deferred' } : { kind: 'repaired' };
  } catch (error) {
    // Either backend: a convergence round's Kask write may have been sent, so treat its outcome as unknown.
    return { kind: 'failed', backend: 'kask', error, kaskOutcomeUnknown: true };
  }
}
