// What phases report as they work (reads by source, failures, backfills); ops/ turns it into metrics and logs.
import type { RequestMeta } from './phase.js';

/** Where a GET's answer came from. The fallback hit rate is redis_fallback / (redis_fallback + miss). */
export type ReadSource = 'kask' | 'redis_fallback' | 'miss' | 'redis_failover' | 'redis';
export type BackfillOutcome = 'written' | 'raced_repaired' | 'skipped' | 'failed';
/** The two stores; every label, breaker and probe that names one uses this. */
export type Backend = 'kask' | 'redis';
export type ShadowResult = 'match' | 'mismatch' | 'kask_missing' | 'error';

export interface PhaseObserver {
  read(source: ReadSource): void;
  /** A backend call failed; `meta` is absent for work done off the request path. */
  backendFailure(backend: Backend, op: string, err: unknown, meta?: RequestMeta): void;
  backfill(outcome: BackfillOutcome): void;
  /** One backend's half of a dual-phase write or delete failed. */
  dualWriteFailure(backend: Backend, op: string): void;
  /** A value could not be converted faithfully between formats and was not written. Never logs the value. */
  conversionFailure(
    direction: 'redis_to_kask' | 'kask_to_redis',
    reason: string,
    key: Buffer,
    meta?: RequestMeta,
  ): void;
  /** Kask had to be re-aligned with Redis after a mutation (another writer raced us), or could not be. */
  convergence(outcome: 'repaired' | 'gave_up', key: Buffer, meta?: RequestMeta): void;
  /** A dual-write shadow read compared Kask with Redis's answer (off the request path, for request `meta`). */
  shadow(result: ShadowResult, key: Buffer, meta?: RequestMeta): void;
}

/** An observer that records nothing: for unit tests and the bulk tools' dry runs. */
export const SILENT_OBSERVER: PhaseObserver = Object.freeze({
  read() {},
  backendFailure() {},
  backfill() {},
  dualWriteFailure() {},
  conversionFailure() {},
  convergence() {},
  shadow() {},
});
