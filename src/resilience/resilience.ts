// Everything resilience adds to one sidecar, built in one place: the breakers around Kask and Redis, the durable
// repair queue the phases record into, and the repairer that drains it while a dual phase is in force.
import type { LiveConfig } from '../config/reload.js';
import { type PhaseName, REDIS_WRITING_PHASES } from '../config/schema.js';
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import { dualStoresFor } from '../phases/build.js';
import type { BackgroundWork, DualStores, KaskApi } from '../phases/dual-stores.js';
import type { PhaseObserver } from '../phases/observer.js';
import { lazyOpen } from '../redis/lazy-open.js';
import type { RedisStore } from '../redis/store.js';
import { type Breakers, createBreakers } from './breakers.js';
import { GuardedKask, GuardedRedis } from './guarded-backends.js';
import { RedisRepairLedger, type RepairLedger } from './repair-ledger.js';
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
  /** Where the repair queue is kept; default Redis (the protocol simulation supplies its own). */
  ledger?: RepairLedger;
}

export interface Resilience {
  breakers: Breakers;
  kask: GuardedKask;
  redis: () => Promise<GuardedRedis>;
  repairs: RepairQueue;
  repairer: Repairer;
  /** Runs the repairer in the phases that write Redis only. */
  phaseChanged(name: PhaseName): void;
  /** Stops the repairer, stores what the queue still buffers (the rest is counted lost), stops the breakers. */
  close(): Promise<void>;
}

/** At most this long at shutdown to store what the repair queue buffered while Redis was away. */
const CLOSE_FLUSH_BUDGET_MS = 5000;

export function createResilience(deps: ResilienceDeps): Resilience {
  const config = deps.live.config;
  const breakers = createBreakers(config, deps.metrics, deps.logger);
  const kask = new GuardedKask(deps.kask, breakers.kask);
  const redis = lazyOpen(async () => new GuardedRedis(await deps.redis(), breakers.redis)).open;
  const repairs = new RepairQueue({
    ledger: deps.ledger ?? new RedisRepairLedger(redis),
    maxQueueKeys: config.repair.maxQueueKeys,
    bufferKeys: config.repair.bufferKeys,
    settleMs: config.repair.settleMs,
    metrics: deps.metrics,
    logger: deps.logger,
  });
  // The repairer calls the backends directly, not through the request path's breakers (see RepairerOptions).
  const stores = async (): Promise<DualStores> =>
    dualStoresFor(deps.live.config, {
      kask: deps.kask,
      redis: await deps.redis(),
      observer: deps.observer,
      repairs,
      background: deps.background,
    });
  const repairer = new Repairer({
    queue: repairs,
    stores,
    breakers,
    ratePerSecond: config.repair.ratePerSecond,
    settleMs: config.repair.settleMs,
    backoffBaseMs: config.repair.backoffBaseMs,
    backoffMaxMs: config.repair.backoffMaxMs,
    metrics: deps.metrics,
    logger: deps.logger,
  });
  let closed = false;
  return {
    breakers,
    kask,
    redis,
    repairs,
    repairer,
    phaseChanged(name) {
      // A phase change that slips in during shutdown must not bring the repairer back to life.
      if (closed) return;
      if (REDIS_WRITING_PHASES.includes(name)) repairer.start();
      else void repairer.stop();
    },
    async close() {
      closed = true;
      await repairer.stop();
      // What the queue still holds in memory gets a few more tries: losing it means a key nobody repairs.
      await repairs.close(Math.min(deps.live.config.shutdown.drainTimeoutMs, CLOSE_FLUSH_BUDGET_MS));
      breakers.shutdown();
    },
  };
}
