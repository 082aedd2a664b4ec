// Builds the strategy for a phase name, opening only the connections that phase needs (kask-only: no Redis).
import type { Config, PhaseName } from '../config/schema.js';
import type { BackgroundWork, DualStores, KaskApi, RedisApi, RepairSink } from './dual-stores.js';
import { DualWritePhase } from './dual-write.js';
import { KaskOnlyPhase } from './kask-only.js';
import { MigrationPhase } from './migration.js';
import type { PhaseObserver } from './observer.js';
import type { Phase } from './phase.js';

export interface PhaseDeps {
  config: Config;
  kask: KaskApi;
  /** Opens Redis on first use; never called in kask-only. */
  redis: () => Promise<RedisApi>;
  observer: PhaseObserver;
  repairs: RepairSink;
  background: BackgroundWork;
}

export async function buildPhase(name: PhaseName, deps: PhaseDeps): Promise<Phase> {
  if (name === 'kask-only') return new KaskOnlyPhase(deps.kask, deps.observer);
  const { config } = deps;
  const stores: DualStores = {
    kask: deps.kask,
    redis: await deps.redis(),
    values: { type: config.values.envelopeType, hmacKey: config.values.hmacKey },
    redisTtlSeconds: config.redis.ttlSeconds,
    convergenceMaxRounds: config.migration.convergenceMaxRounds,
    observer: deps.observer,
    repairs: deps.repairs,
    background: deps.background,
  };
  if (name === 'migration') return new MigrationPhase(stores, config.migration.backfill);
  return new DualWritePhase(stores, config.migration.shadowSampleRate);
}
