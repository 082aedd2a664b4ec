// The two phases between `migration` and `kask-only`: both read Kask only (no fallback, no backfill: the bulk copy
// has finished) and write Redis first (still the authority: a write Redis refuses is not acknowledged), then Kask.
// They differ in what follows the Kask write (docs/protocol.md, "The phase ladder"):
//   kask-primary  converges Kask to Redis and queues what is left, exactly as `migration` does: hosts still in
//                 `migration` may share the fleet and read Redis on a Kask miss, so Kask must keep following Redis.
//   redis-shadow  stops there. Its neighbours are `kask-primary`, whose convergence and repairs derive Kask writes
//                 from Redis (so Redis must hold this phase's writes too), and `kask-only`, whose writes never reach
//                 Redis (so this phase must never derive a Kask write from Redis, or it could undo them).
import { CONVERGING, dualDelete, dualSet, NOT_CONVERGING, type WriteMode } from './dual-mutations.js';
import type { DualStores } from './dual-stores.js';
import { readKask } from './kask-only.js';
import type { Phase, ReadOutcome, RequestMeta, WriteOutcome } from './phase.js';

export type KaskReadingPhase = 'kask-primary' | 'redis-shadow';

const WRITE_MODE: Record<KaskReadingPhase, WriteMode> = {
  'kask-primary': CONVERGING,
  'redis-shadow': NOT_CONVERGING,
};

export class KaskReadsPhase implements Phase {
  readonly #mode: WriteMode;

  constructor(
    readonly name: KaskReadingPhase,
    readonly stores: DualStores,
  ) {
    this.#mode = WRITE_MODE[name];
  }

  get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    return readKask(this.stores.kask, this.stores.observer, key, meta);
  }

  set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualSet(this.stores, key, value, meta, this.#mode);
  }

  delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualDelete(this.stores, key, meta, this.#mode);
  }
}
