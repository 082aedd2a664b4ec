// Feeds kmp_backend_request_duration_seconds from the Kask and Redis clients. Every (op, outcome) child is bound
// once up front, so timing a call costs one clock read and one observe, with no label hashing per request.
import type { Backend } from '../phases/observer.js';
import type { Metrics } from './metrics.js';
import type { HistogramSeries } from './series-histogram.js';

/** Bounded outcome label: a Kask 404 is `ok` (an answer), a failure `error`, a blown budget `timeout`. */
export type CallOutcome = 'ok' | 'error' | 'timeout';
/** Called by a client after each call with the performance.now() it started at. */
export type CallTimer<Op extends string> = (op: Op, outcome: CallOutcome, startedMs: number) => void;

const OUTCOMES: readonly CallOutcome[] = ['ok', 'error', 'timeout'];
/** The operations each backend's children are bound for. */
export const KASK_OPS = ['get', 'set', 'delete'] as const;
export const REDIS_OPS = ['get', 'set', 'delete', 'ping'] as const;

/** A timer for one backend's fixed set of operations (the label set stays bounded). */
export function createBackendTimer<Op extends string>(
  metrics: Metrics,
  backend: Backend,
  ops: readonly Op[],
): CallTimer<Op> {
  const children = {} as Record<Op, Record<CallOutcome, HistogramSeries>>;
  for (const op of ops) {
    const byOutcome = {} as Record<CallOutcome, HistogramSeries>;
    for (const outcome of OUTCOMES)
      byOutcome[outcome] = metrics.backendDuration.labels({ backend, op, outcome });
    children[op] = byOutcome;
  }
  return (op, outcome, startedMs) => {
    children[op][outcome].observe((performance.now() - startedMs) / 1000);
  };
}
