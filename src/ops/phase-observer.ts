// Turns what the phases report into metrics and log lines (keys may be logged, values never).
import type { Logger } from 'pino';
import type { PhaseObserver } from '../phases/observer.js';
import { errorFields } from './logging.js';
import type { Metrics } from './metrics.js';

/** Keys are user ids in practice: log them escaped and bounded, never the value. */
export function keyForLog(key: Buffer): string {
  const text = key.subarray(0, 256).toString('utf8');
  return key.length > 256 ? `${text}…` : text;
}

export function createPhaseObserver(metrics: Metrics, logger: Logger): PhaseObserver {
  return {
    read(source) {
      metrics.reads.inc({ source });
    },
    backendFailure(backend, op, err, meta) {
      logger.warn(
        { 'event.action': `${backend}.${op}`, 'trace.id': meta?.requestId, ...errorFields(err) },
        `${backend} ${op} failed`,
      );
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
    shadow(result, key) {
      metrics.shadow.inc({ result });
      if (result === 'mismatch')
        logger.info({ 'event.action': 'shadow', 'kmp.key': keyForLog(key) }, 'shadow read mismatch');
    },
  };
}
