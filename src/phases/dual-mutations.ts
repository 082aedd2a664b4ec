// Writes and deletes in the phases that write Redis. Redis is the single authority: Redis first (RedisBagOStuff's
// bytes), and only if Redis accepted, Kask (MediaWiki's envelope as sent), then convergence. A Redis failure answers
// 500 with Kask untouched, so Kask is never ahead of Redis with an acknowledged change (docs/protocol.md).
import { envelopeToRedis } from '../codec/convert.js';
import { convergeKaskToRedis } from './convergence.js';
import { type DualStores, deadlineFor, type RepairReason } from './dual-stores.js';
import { type RequestMeta, WRITE_ERROR, WRITE_OK, type WriteOutcome } from './phase.js';

/**
 * How a phase follows its Kask write. `converge`: re-read Redis and re-align Kask, queueing what is left (every
 * phase that may share the fleet with a phase reading Redis). `redis-shadow` turns it off: it shares the fleet
 * with kask-only hosts, whose writes never reach Redis, so deriving a Kask write from Redis could undo theirs.
 */
export interface WriteMode {
  converge: boolean;
}

export const CONVERGING: WriteMode = Object.freeze({ converge: true });
export const NOT_CONVERGING: WriteMode = Object.freeze({ converge: false });

export async function dualSet(
  stores: DualStores,
  key: Buffer,
  envelope: Buffer,
  meta: RequestMeta,
  mode: WriteMode = CONVERGING,
): Promise<WriteOutcome> {
  const converted = envelopeToRedis(envelope, stores.values);
  if (!converted.ok) {
    // Every body has a Redis form (src/codec/convert.ts); should a defect ever say otherwise, Redis cannot hold it,
    // so it cannot be acknowledged: nothing is written anywhere.
    stores.observer.conversionFailure('kask_to_redis', converted.reason, key, meta);
    return WRITE_ERROR;
  }
  const redisBytes = converted.bytes;
  return dualMutation(stores, key, meta, mode, {
    op: 'set',
    basis: redisBytes,
    redis: () => stores.redis.set(key, redisBytes, stores.redisTtlSeconds),
    kask: () => stores.kask.set(key, envelope, meta.forward),
  });
}

export function dualDelete(
  stores: DualStores,
  key: Buffer,
  meta: RequestMeta,
  mode: WriteMode = CONVERGING,
): Promise<WriteOutcome> {
  return dualMutation(stores, key, meta, mode, {
    op: 'delete',
    basis: null,
    redis: () => stores.redis.delete(key),
    kask: () => stores.kask.delete(key, meta.forward),
  });
}

/** One mutation in both stores: `basis` is the Redis state it leaves (null = absent), for convergence. */
interface Mutation {
  op: 'set' | 'delete';
  basis: Buffer | null;
  redis: () => Promise<void>;
  kask: () => Promise<void>;
}

/** Redis; only if Redis took it, Kask; then convergence, within one deadline. */
async function dualMutation(
  stores: DualStores,
  key: Buffer,
  meta: RequestMeta,
  mode: WriteMode,
  m: Mutation,
): Promise<WriteOutcome> {
  const deadline = deadlineFor(stores);
  if (!(await redisMutation(stores, key, m.op, meta, mode, m.redis))) return WRITE_ERROR;
  if (!(await kaskMutation(stores, key, m.op, meta, mode, m.kask))) return WRITE_ERROR;
  if (mode.converge) await convergeOnRequest(stores, key, m.basis, deadline, meta);
  return WRITE_OK;
}

/**
 * A failed Redis mutation answers 500 with Kask untouched. If Redis may still have applied it (a timeout, a
 * connection lost mid-command), Redis can end up ahead of Kask: a converging phase queues the key, and the repair
 * (a fresh Redis read) brings Kask along. A reply error (READONLY, OOM, NOPERM) or an open breaker applied nothing.
 */
async function redisMutation(
  stores: DualStores,
  key: Buffer,
  op: 'set' | 'delete',
  meta: RequestMeta,
  mode: WriteMode,
  call: () => Promise<void>,
): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    stores.observer.dualWriteFailure('redis', op);
    stores.observer.backendFailure('redis', op, err, meta);
    if (mode.converge && !DEFINITELY_NOT_APPLIED.has((err as { code?: string }).code ?? ''))
      stores.repairs.record(key, 'redis_outcome_unknown');
    return false;
  }
}

/** RedisError codes (src/redis/store.ts) that say the command was not applied. */
const DEFINITELY_NOT_APPLIED = new Set(['REDIS_REPLY', 'REDIS_OPEN']);

/**
 * A failed Kask mutation answers 500. Its outcome is unknown (a timed-out write may still land), so a converging
 * phase queues the key: the repairer re-drives it from Redis once it has settled.
 */
async function kaskMutation(
  stores: DualStores,
  key: Buffer,
  op: 'set' | 'delete',
  meta: RequestMeta,
  mode: WriteMode,
  call: () => Promise<void>,
): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    stores.observer.dualWriteFailure('kask', op);
    stores.observer.backendFailure('kask', op, err, meta);
    if (mode.converge) stores.repairs.record(key, KASK_FAILURE_REASON[op]);
    return false;
  }
}

const KASK_FAILURE_REASON: Record<'set' | 'delete', RepairReason> = {
  set: 'kask_write_failed',
  delete: 'kask_delete_failed',
};

/**
 * Both stores took the write, so it is acknowledged whatever convergence finds: a failure or the deadline leaves
 * the key queued for repair, never an error for MediaWiki.
 */
async function convergeOnRequest(
  stores: DualStores,
  key: Buffer,
  basis: Buffer | null,
  deadline: number,
  meta: RequestMeta,
): Promise<void> {
  try {
    await convergeKaskToRedis(stores, key, basis, deadline, meta);
  } catch (err) {
    stores.observer.backendFailure('redis', 'converge', err, meta);
    stores.repairs.record(key, 'not_converged');
  }
}
