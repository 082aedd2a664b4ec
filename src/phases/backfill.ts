// One key copied from Redis into Kask under the consistency rule: Kask POST of the converted Redis value, then
// convergence against the Redis value it was made from (so a copy can neither clobber a newer write nor bring
// back a deleted key). The migration phase's lazy backfill and the bulk copy both run exactly this step.
import { convergeKaskToRedis } from './convergence.js';
import { type DualStores, deadlineFor } from './dual-stores.js';
import type { BackfillOutcome } from './observer.js';
import type { RequestMeta } from './phase.js';

/**
 * `stored` is the Redis value as read, `envelope` its REST form. Never throws: a failure is reported to the
 * observer, the key goes to the repair queue (a failed POST may still land), and the outcome says `failed`.
 */
export async function backfillKey(
  stores: DualStores,
  key: Buffer,
  stored: Buffer,
  envelope: Buffer,
  meta?: RequestMeta,
): Promise<Exclude<BackfillOutcome, 'skipped'>> {
  const { kask, observer, repairs } = stores;
  const deadline = deadlineFor(stores);
  try {
    await kask.set(key, envelope, meta?.forward ?? {});
  } catch (err) {
    observer.backendFailure('kask', 'backfill', err, meta);
    repairs.record(key, 'backfill_failed');
    return 'failed';
  }
  try {
    const result = await convergeKaskToRedis(stores, key, stored, deadline, meta);
    return result === 'stable' ? 'written' : result === 'repaired' ? 'raced_repaired' : 'failed';
  } catch (err) {
    observer.backendFailure('redis', 'converge', err, meta);
    repairs.record(key, 'not_converged');
    return 'failed';
  }
}
