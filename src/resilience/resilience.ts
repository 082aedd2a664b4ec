// Everything resilience adds to one sidecar, built in one place: the breakers around Kask and Redis, the durable
// repair queue the phases record into, and the repairer that drains it while a dual phase is in force.
import type { LiveConfig } from '../config/reload.js';
import type { PhaseName } from '../config/schema.js';
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import type { BackgroundWork, DualStores, KaskApi } from '../phases/dual-stores.js';
import type { PhaseObserver } from '../phases/observer.js';
import type { RedisStore } from '../redis/store.js';
import { type Breakers, createBreakers } from './breakers.js';
import { GuardedKask, GuardedRedis } from './guarded-backends.js';
import { RepairQueue } from './repair-queue.js';
import { Repairer } from './repairer.js';

export interface ResilienceDeps {
  live: LiveConfig;
  kask: KaskApi;
  /** Opens Redis on first use (never in kask-only). */
  redis: () => Promise<RedisStore>;
  metrics: Metrics;
  logger: Logger;
  observer: PhaseObserver;
  background: BackgroundWork;
}

export interface Resilience {
  breakers: Breakers;
  kask: GuardedKask;
  redis: () => Promise<GuardedRedis>;
  repairs: RepairQueue;
  repairer: Repairer;
  /** Runs the repairer in the dual phases only. */
  phaseChanged(name: PhaseName): void;
  /** Stops the repairer, stores what the queue still buffers (the rest is counted lost), stops the breakers. */
  close(): Promise<void>;
}

export function createResilience(deps: ResilienceDeps): Resilience {
  const config = deps.live.config;
  const breakers = createBreakers(config, deps.metrics, deps.logger);
  const kask = new GuardedKask(deps.kask, breakers.kask);
  let guarded: Promise<GuardedRedis> | null = null;
  const redis = (): Promise<GuardedRedis> => {
    guarded ??= deps.redis().then(
      (store) => new GuardedRedis(store, breakers.redis),
      (err: unknown) => {
        guarded = null;
        throw err;
      },
    );
    return guarded;
  };
  const repairs = new RepairQueue({
    redis,
    maxQueueKeys: config.repair.maxQueueKeys,
    bufferKeys: config.repair.bufferKeys,
    metrics: deps.metrics,
    logger: deps.logger,
  });
  const stores = async (): Promise<DualStores> => {
    const live = deps.live.config;
    return {
      kask,
      redis: await redis(),
      values: { type: live.values.envelopeType, hmacKey: live.values.hmacKey },
      redisTtlSeconds: live.redis.ttlSeconds,
      convergenceMaxRounds: live.migration.convergenceMaxRounds,
      observer: deps.observer,
      repairs,
      background: deps.background,
    };
  };
  const repairer = new Repairer({
    queue: repairs,
    stores,
    redis,
    breakers,
    ratePerSecond: config.repair.ratePerSecond,
    // Twice the longest gap a writer can leave between its Redis write and its Kask write.
    quietMs: 2 * (config.kask.requestTimeoutMs + config.redis.commandTimeoutMs),
    settleMs: config.repair.settleMs,
    metrics: deps.metrics,
    logger: deps.logger,
  });
  return {
    breakers,
    kask,
    redis,
    repairs,
    repairer,
    phaseChanged(name) {
      if (name === 'kask-only') void repairer.stop();
      else repairer.start();
    },
    async close() {
      await repairer.stop();
      await repairs.close();
      breakers.shutdown();
    },
  };
}
