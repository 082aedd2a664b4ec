// The sidecar's two circuit breakers, one per backend: what counts as a failure for each, the typed errors an open
// breaker answers with, and where transitions go (a log line, kmp_breaker_state, /readyz and the admin API).
import type { Config } from '../config/schema.js';
import { BackendError } from '../kask/client.js';
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import type { BreakerState, BreakerStatus } from '../ops/status-providers.js';
import type { Backend } from '../phases/observer.js';
import { RedisError } from '../redis/store.js';
import { Breaker, type RefusalKind } from './breaker.js';

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface Breakers {
  kask: Breaker;
  redis: Breaker;
  /** For /readyz and the admin API's status. */
  states(): BreakerStatus[];
  shutdown(): void;
}

/**
 * A Kask miss is an answer, not a failure (KaskClient returns it as a value); so are Kask's 4xx answers. Timeouts,
 * refused connections and 5xx count.
 */
export function isKaskFailure(err: unknown): boolean {
  if (!(err instanceof BackendError)) return true;
  if (err.code === 'KASK_STATUS') return (err.status ?? 500) >= 500;
  return err.code !== 'KASK_OPEN';
}

/** An error reply (WRONGTYPE, OOM…) is Redis answering; timeouts and lost connections count. */
export function isRedisFailure(err: unknown): boolean {
  if (!(err instanceof RedisError)) return true;
  return err.code !== 'REDIS_REPLY' && err.code !== 'REDIS_OPEN';
}

function kaskRefusal(kind: RefusalKind): Error {
  if (kind === 'open')
    return new BackendError('KASK_OPEN', 'Kask circuit breaker is open; Kask was not called');
  return new BackendError('KASK_UNAVAILABLE', 'Kask circuit breaker is shut down');
}

function redisRefusal(kind: RefusalKind): Error {
  if (kind === 'open')
    return new RedisError('REDIS_OPEN', 'Redis circuit breaker is open; Redis was not called');
  return new RedisError('REDIS_UNAVAILABLE', 'Redis circuit breaker is shut down');
}

export function createBreakers(config: Config, metrics: Metrics, logger: Logger): Breakers {
  const onStateChange =
    (backend: Backend) =>
    (state: BreakerState, detail: { failures: number; calls: number }): void => {
      metrics.breakerState.set({ backend }, STATE_VALUE[state]);
      const fields = {
        'event.action': 'breaker',
        'event.type': 'change',
        'kmp.backend': backend,
        'kmp.breaker.state': state,
        'kmp.breaker.window_failures': detail.failures,
        'kmp.breaker.window_calls': detail.calls,
      };
      if (state === 'open') logger.warn(fields, `${backend} circuit breaker open: failing fast`);
      else logger.info(fields, `${backend} circuit breaker ${state === 'closed' ? 'closed' : 'half-open'}`);
    };
  const kask = new Breaker({
    name: 'kask',
    settings: config.breakers.kask,
    isFailure: isKaskFailure,
    refusal: kaskRefusal,
    onStateChange: onStateChange('kask'),
  });
  const redis = new Breaker({
    name: 'redis',
    settings: config.breakers.redis,
    isFailure: isRedisFailure,
    refusal: redisRefusal,
    onStateChange: onStateChange('redis'),
  });
  metrics.breakerState.set({ backend: 'kask' }, 0);
  metrics.breakerState.set({ backend: 'redis' }, 0);
  return {
    kask,
    redis,
    states: () => [
      { backend: 'kask', state: kask.state },
      { backend: 'redis', state: redis.state },
    ],
    shutdown() {
      kask.shutdown();
      redis.shutdown();
    },
  };
}
