// Writes and deletes in the dual phases: Redis first (RedisBagOStuff's bytes), then Kask (MediaWiki's envelope as
// sent), then convergence. The answer reflects Kask, the store of record; a Redis failure is counted, not fatal.
import { envelopeToRedis } from '../codec/convert.js';
import { convergeKaskToRedis } from './convergence.js';
import type { DualStores, RepairReason } from './dual-stores.js';
import { type RequestMeta, WRITE_ERROR, WRITE_OK, type WriteOutcome } from './phase.js';

export async function dualSet(
  stores: DualStores,
  key: Buffer,
  envelope: Buffer,
  meta: RequestMeta,
): Promise<WriteOutcome> {
  const converted = envelopeToRedis(envelope, stores.values);
  if (!converted.ok) {
    // Never write what cannot be converted faithfully: Redis keeps its old value, Kask gets MediaWiki's bytes.
    stores.observer.conversionFailure('kask_to_redis', converted.reason, key, meta);
    return kaskMutation(stores, key, meta, 'kask_write_failed', () =>
      stores.kask.set(key, envelope, meta.forward),
    );
  }
  const redisOk = await redisMutation(stores, 'set', meta, () =>
    stores.redis.set(key, converted.bytes, stores.redisTtlSeconds),
  );
  const outcome = await kaskMutation(stores, key, meta, 'kask_write_failed', () =>
    stores.kask.set(key, envelope, meta.forward),
  );
  if (outcome.kind === 'ok' && redisOk) await convergeOnRequest(stores, key, converted.bytes, meta);
  // Kask acknowledged a write Redis missed: Redis is behind, and must catch up before anything re-drives Kask from it.
  else if (outcome.kind === 'ok') stores.repairs.record(key, 'redis_write_failed');
  return outcome;
}

export async function dualDelete(stores: DualStores, key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
  const redisOk = await redisMutation(stores, 'delete', meta, () => stores.redis.delete(key));
  const outcome = await kaskMutation(stores, key, meta, 'kask_delete_failed', () =>
    stores.kask.delete(key, meta.forward),
  );
  if (outcome.kind === 'ok' && redisOk) await convergeOnRequest(stores, key, null, meta);
  else if (outcome.kind === 'ok') stores.repairs.record(key, 'redis_delete_failed');
  return outcome;
}

async function redisMutation(
  stores: DualStores,
  op: string,
  meta: RequestMeta,
  call: () => Promise<void>,
): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    stores.observer.dualWriteFailure('redis', op);
    stores.observer.backendFailure('redis', op, err, meta);
    return false;
  }
}

/** A failed Kask mutation answers 500 and queues the key: the repairer re-drives it from Redis later. */
async function kaskMutation(
  stores: DualStores,
  key: Buffer,
  meta: RequestMeta,
  reason: RepairReason,
  call: () => Promise<void>,
): Promise<WriteOutcome> {
  try {
    await call();
    return WRITE_OK;
  } catch (err) {
    stores.observer.dualWriteFailure('kask', reason === 'kask_write_failed' ? 'set' : 'delete');
    stores.observer.backendFailure('kask', reason === 'kask_write_failed' ? 'set' : 'delete', err, meta);
    stores.repairs.record(key, reason);
    return WRITE_ERROR;
  }
}

/** Convergence on the request path: its failure does not undo an acknowledged Kask write, it queues a repair. */
async function convergeOnRequest(
  stores: DualStores,
  key: Buffer,
  basis: Buffer | null,
  meta: RequestMeta,
): Promise<void> {
  try {
    await convergeKaskToRedis(stores, key, basis, meta);
  } catch (err) {
    stores.observer.backendFailure('redis', 'converge', err, meta);
    stores.repairs.record(key, 'not_converged');
  }
}
