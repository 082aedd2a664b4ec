// Builds the strategy for a phase name, opening only the connections that phase needs (kask-only: no Redis).
import type { Config, PhaseName } from '../config/schema.js';
import type { BackgroundWork, DualStores, KaskApi, RedisApi, RepairSink } from './dual-stores.js';
import { DualWritePhase } from './dual-write.js';
import { KaskOnlyPhase } from './kask-only.js';
import { KaskReadsPhase } from './kask-reads.js';
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
  /** The clock (ms since the epoch); default Date.now. */
  now?: () => number;
}

/** The stores a Redis-writing phase, the repairer and the bulk copy get: one builder, so they never drift apart. */
export function dualStoresFor(
  config: Config,
  parts: Pick<DualStores, 'kask' | 'redis' | 'observer' | 'repairs' | 'background'> & { now?: () => number },
): DualStores {
  return {
    kask: parts.kask,
    redis: parts.redis,
    values: { type: config.values.envelopeType, hmacKey: config.values.hmacKey },
    redisTtlSeconds: config.redis.ttlSeconds,
    convergenceMaxRounds: config.migration.convergenceMaxRounds,
    budget: {
      requestDeadlineMs: config.migration.requestDeadlineMs,
      redisCallMs: config.redis.commandTimeoutMs,
      kaskCallMs: config.kask.requestTimeoutMs,
      now: parts.now ?? Date.now,
    },
    observer: parts.observer,
    repairs: parts.repairs,
    background: parts.background,
  };
}

export async function buildPhase(name: PhaseName, deps: PhaseDeps): Promise<Phase> {
  if (name === 'kask-only') return new KaskOnlyPhase(deps.kask, deps.observer);
  const { config } = deps;
  const stores = dualStoresFor(config, { ...deps, redis: await deps.redis() });
  switch (name) {
    case 'dual-write':
      return new DualWritePhase(stores, config.migration.shadowSampleRate);
    case 'migration':
      return new MigrationPhase(stores, config.migration.backfill);
    case 'kask-primary':
    case 'redis-shadow':
      return new KaskReadsPhase(name, stores);
  }
}
