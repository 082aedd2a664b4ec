// Hooks through which other parts (circuit breakers, the repair queue) report to /status, /readyz and metrics.
import type { Backend } from '../phases/observer.js';

/** A circuit breaker's state as /status shows it. */
export type BreakerState = 'closed' | 'half_open' | 'open';

/** One backend's circuit breaker as readiness and the admin API see it. */
export interface BreakerStatus {
  backend: Backend;
  state: BreakerState;
}

/** The durable repair queue's state; `depth` is required, anything else is shown as given. */
export interface RepairQueueStatus {
  depth: number;
  [detail: string]: unknown;
}

/**
 * Filled in by whoever owns the breakers and the repair queue (they assign the functions after start-up); the
 * defaults report "no breakers" and "no queue".
 */
export interface StatusProviders {
  breakers: () => BreakerStatus[];
  repairQueue: () => Promise<RepairQueueStatus | null>;
}

/** Providers reporting no breakers and no repair queue, until their owners assign real ones. */
export function defaultStatusProviders(): StatusProviders {
  return { breakers: () => [], repairQueue: async () => null };
}
