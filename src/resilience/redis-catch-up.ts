// Catching Redis up with Kask after a write Kask acknowledged but Redis missed (Redis was down or slow). Redis is
// the serialization point, so it is changed only when no writer can be mid-flight on the key: both stores must read
// the same across a quiet window longer than any writer's Redis-then-Kask gap, and the Redis change is a
// compare-and-set against what was read. Kask is then converged to Redis as after any other mutation (SPEC §4).
import { envelopeToRedis, redisToEnvelope } from '../codec/convert.js';
import type { KaskRead } from '../kask/client.js';
import { convergeKaskToRedis } from '../phases/convergence.js';
import type { DualStores } from '../phases/dual-stores.js';
import type { GuardedRedis } from './guarded-backends.js';
import { COMPARE_AND_SET_SCRIPT } from './repair-scripts.js';

/** Both stores as read at one moment. */
export interface Snapshot {
  kask: KaskRead;
  redis: Buffer | null;
}

/**
 * What Redis must hold to agree with Kask: `null` = absent; `undefined` = Kask holds a value Redis cannot represent
 * faithfully (written to Kask only, like any such set), so Redis is left alone.
 */
export function redisTarget(stores: DualStores, kask: KaskRead): Buffer | null | undefined {
  if (kask.kind === 'miss') return null;
  const converted = envelopeToRedis(kask.value, stores.values);
  return converted.ok ? converted.bytes : undefined;
}

/** Redis already agrees with Kask (a Redis value Kask would read as absent counts as absent). */
export function agrees(stores: DualStores, snap: Snapshot): boolean {
  const target = redisTarget(stores, snap.kask);
  if (target === undefined) return true;
  if (target !== null) return snap.redis?.equals(target) === true;
  return snap.redis === null || !redisToEnvelope(snap.redis, stores.values).ok;
}

export async function snapshot(stores: DualStores, key: Buffer): Promise<Snapshot> {
  const kask = await stores.kask.get(key);
  const redis = await stores.redis.get(key);
  return { kask, redis };
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  const sameRedis = a.redis === null || b.redis === null ? a.redis === b.redis : a.redis.equals(b.redis);
  if (!sameRedis || a.kask.kind !== b.kask.kind) return false;
  return a.kask.kind === 'miss' || (b.kask.kind === 'hit' && a.kask.value.equals(b.kask.value));
}

export type CatchUp = 'agreed' | 'caught_up' | 'busy';

/**
 * `before` was read at least one quiet window ago. `busy`: a store changed since, or Redis changed under the
 * compare-and-set; try again later (a writer on the key converges it meanwhile).
 */
export async function catchUpRedis(
  stores: DualStores,
  redis: GuardedRedis,
  key: Buffer,
  before: Snapshot,
): Promise<CatchUp> {
  const now = await snapshot(stores, key);
  if (agrees(stores, now)) return 'agreed';
  if (!sameSnapshot(before, now)) return 'busy';
  const target = redisTarget(stores, now.kask);
  if (target === undefined) return 'agreed'; // unreachable: agrees() said so already
  const applied = await redis.command('EVAL', (c) =>
    c.eval(
      COMPARE_AND_SET_SCRIPT,
      1,
      redis.store.key(key),
      now.redis === null ? 'absent' : 'value',
      now.redis ?? '',
      target === null ? 'delete' : 'value',
      target ?? '',
      String(stores.redisTtlSeconds),
    ),
  );
  if (applied !== 1) return 'busy';
  // From here this is a Redis mutation like a writer's: make Kask follow whatever Redis holds from now on.
  await convergeKaskToRedis(stores, key, target);
  return 'caught_up';
}
