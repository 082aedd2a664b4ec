// Phase `redis-shadow`: reads Kask only; writes Redis first (still the authority: a write Redis refuses is not
// acknowledged), then Kask, and stops there: no convergence and no repair queueing. Its neighbours on the ladder
// are `kask-primary`, whose convergence and repairs derive Kask writes from Redis (so Redis must hold this phase's
// writes too), and `kask-only`, whose writes never reach Redis (so this phase must never derive a Kask write from
// Redis, or it could undo them). docs/protocol.md has the argument.
import { dualDelete, dualSet, NOT_CONVERGING } from './dual-mutations.js';
import type { DualStores } from './dual-stores.js';
import { readKask } from './kask-only.js';
import type { Phase, ReadOutcome, RequestMeta, WriteOutcome } from './phase.js';

export class RedisShadowPhase implements Phase {
  readonly name = 'redis-shadow' as const;

  constructor(readonly stores: DualStores) {}

  get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    return readKask(this.stores.kask, this.stores.observer, key, meta);
  }

  set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualSet(this.stores, key, value, meta, NOT_CONVERGING);
  }

  delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualDelete(this.stores, key, meta, NOT_CONVERGING);
  }
}
