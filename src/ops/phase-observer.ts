// Turns what the phases report into metrics and log lines (keys may be logged, values never).
import type { Logger } from 'pino';
import type { PhaseObserver } from '../phases/observer.js';
import { LogRateLimit } from './log-rate-limit.js';
import { errorFields } from './logging.js';
import type { Metrics } from './metrics.js';

/** Keys are user ids in practice: log them escaped and bounded, never the value. */
export function keyForLog(key: Buffer): string {
  const text = key.subarray(0, 256).toString('utf8');
  return key.length > 256 ? `${text}…` : text;
}

function isBreakerRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'KASK_OPEN' || code === 'REDIS_OPEN';
}

/** Shadow mismatches can come by the thousand (all counted); only this many keys per minute reach the log. */
const SHADOW_LOG_LINES_PER_MINUTE = 10;

export function createPhaseObserver(metrics: Metrics, logger: Logger): PhaseObserver {
  const shadowLog = new LogRateLimit(SHADOW_LOG_LINES_PER_MINUTE, 60_000);
  return {
    read(source) {
      metrics.recordRead(source);
    },
    backendFailure(backend, op, err, meta) {
      const fields = { 'event.action': `${backend}.${op}`, 'trace.id': meta?.requestId, ...errorFields(err) };
      // An open breaker refuses every call: its opening was logged once; one line per refused call would flood.
      if (isBreakerRefusal(err)) logger.debug(fields, `${backend} ${op} refused: circuit breaker open`);
      else logger.warn(fields, `${backend} ${op} failed`);
    },
    backfill(outcome) {
      metrics.backfills.inc({ outcome });
    },
    dualWriteFailure(backend, op) {
      metrics.dualWriteFailures.inc({ backend, op });
    },
    conversionFailure(direction, reason, key, meta) {
      metrics.conversionFailures.inc({ direction, reason });
      logger.warn(
        {
          'event.action': 'convert',
          'event.reason': reason,
          'kmp.direction': direction,
          'kmp.key': keyForLog(key),
          'trace.id': meta?.requestId,
        },
        'value could not be converted faithfully; not written',
      );
    },
    convergence(outcome, key, meta) {
      metrics.convergence.inc({ outcome });
      const fields = {
        'event.action': 'converge',
        'event.outcome': outcome,
        'kmp.key': keyForLog(key),
        'trace.id': meta?.requestId,
      };
      if (outcome === 'gave_up')
        logger.error(fields, 'Kask could not be converged to Redis within the bound');
      else logger.info(fields, 'a concurrent writer changed Redis; Kask re-aligned');
    },
    shadow(result, key, meta) {
      metrics.shadow.inc({ result });
      if (result !== 'mismatch') return;
      const suppressed = shadowLog.take();
      if (suppressed === null) return;
      logger.info(
        {
          'event.action': 'shadow',
          'kmp.key': keyForLog(key),
          'trace.id': meta?.requestId,
          'kmp.suppressed': suppressed,
        },
        'shadow read mismatch (Kask differs from Redis)',
      );
    },
  };
}
