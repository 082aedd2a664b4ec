// /readyz: ready only when every backend the current phase needs answers and its circuit breaker lets traffic
// through; each problem is named in the body. Checks are coalesced so a burst of probes costs one round.
import type { PhaseName } from '../config/schema.js';
import type { KaskClient } from '../kask/client.js';
import type { Backend } from '../phases/observer.js';
import type { OpenRedis } from './marker-probe.js';
import type { BreakerStatus } from './status-providers.js';

/** Read from Kask by the probe: a GET exercises Kask's storage path (a 404 is a healthy answer). */
export const KASK_PROBE_KEY = Buffer.from('kmp:readiness-probe');

/** Everything a readiness check reads; the breakers come from the status provider hook. */
export interface ReadinessDeps {
  phase: () => PhaseName;
  kask: Pick<KaskClient, 'get'>;
  redis: OpenRedis;
  breakers: () => BreakerStatus[];
  /** True once shutdown has begun: load balancers should stop sending traffic. */
  draining: () => boolean;
  /** Told whether Redis accepts writes, whenever a probe finds out (kmp_redis_writable). */
  onRedisWritable?: (writable: boolean) => void;
}

/**
 * What a readiness check found. The front's /readyz route declares the shape it consumes (front/service-routes.ts
 * `Readiness`); this one matches it structurally, so ops/ never imports the front above it.
 */
export interface ReadinessReport {
  ready: boolean;
  problems: string[];
}

/** The service routes' `readiness` hook (/readyz). */
export function createReadiness(deps: ReadinessDeps): () => Promise<ReadinessReport> {
  let pending: Promise<ReadinessReport> | null = null;
  return () => {
    pending ??= check(deps).finally(() => {
      pending = null;
    });
    return pending;
  };
}

async function check(deps: ReadinessDeps): Promise<ReadinessReport> {
  if (deps.draining()) return { ready: false, problems: ['shutting down'] };
  const needed: Backend[] = deps.phase() === 'kask-only' ? ['kask'] : ['kask', 'redis'];
  const open = new Set(
    deps
      .breakers()
      .filter((b) => b.state === 'open')
      .map((b) => b.backend),
  );
  const results = await Promise.all(
    needed.map((backend) => (open.has(backend) ? `${backend}: circuit breaker open` : probe(backend, deps))),
  );
  const problems = results.filter((p): p is string => p !== null);
  return { ready: problems.length === 0, problems };
}

async function probe(backend: Backend, deps: ReadinessDeps): Promise<string | null> {
  try {
    if (backend === 'kask') {
      await deps.kask.get(KASK_PROBE_KEY);
      return null;
    }
    const open = deps.redis.opened();
    if (open === null) return 'redis: not connected';
    const store = await open;
    if (!store.ready) return `redis: connection ${store.status}`;
    await store.ping();
    const writable = await store.writable();
    deps.onRedisWritable?.(writable);
    if (!writable)
      return 'redis: read-only replica (ROLE slave): every write would fail; point redis.url at the primary';
    return null;
  } catch (err) {
    return `${backend}: ${(err as Error).message}`;
  }
}
