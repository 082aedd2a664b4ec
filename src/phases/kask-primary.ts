// Phase `kask-primary`: reads Kask only (no fallback, no backfill: the bulk copy has finished); writes exactly as
// `migration` does (Redis first, then Kask, then convergence). Hosts still in `migration` may share the fleet, and
// they read Redis on a Kask miss, so Redis must stay current and Kask must keep converging to it.
import { dualDelete, dualSet } from './dual-mutations.js';
import type { DualStores } from './dual-stores.js';
import { readKask } from './kask-only.js';
import type { Phase, ReadOutcome, RequestMeta, WriteOutcome } from './phase.js';

export class KaskPrimaryPhase implements Phase {
  readonly name = 'kask-primary' as const;

  constructor(readonly stores: DualStores) {}

  get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    return readKask(this.stores.kask, this.stores.observer, key, meta);
  }

  set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualSet(this.stores, key, value, meta);
  }

  delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    return dualDelete(this.stores, key, meta);
  }
}
