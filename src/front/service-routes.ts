// The service routes: what the listener answers outside the key space. Kask's own (/healthz, /metrics, /openapi)
// plus /readyz; everything else is Go's plain 404. (The operator's admin API is another listener: src/ops/admin-api.ts.)
import { Hono } from 'hono';
import { BUILD } from '../ops/build-info.js';
import type { Metrics } from '../ops/metrics.js';
import { renderOpenApi } from './openapi.js';

/**
 * What /readyz needs from a readiness check, declared here where it is consumed: the check itself lives in
 * ops/readiness.ts, below the front, and produces this shape without importing it.
 */
export interface Readiness {
  ready: boolean;
  /** One line per dependency the current phase needs that is not usable, e.g. `redis: connection refused`. */
  problems: string[];
}

export interface ServiceRoutesOptions {
  baseUri: string;
  openapi: boolean;
  metrics: Metrics | null;
  readiness?: () => Promise<Readiness>;
}

const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** Kask's /healthz body: 2-space indented, no trailing newline; `go_version` carries our runtime instead. */
function healthzBody(): string {
  return JSON.stringify(
    {
      version: BUILD.version,
      build_date: BUILD.buildDate,
      build_host: BUILD.buildHost,
      go_version: BUILD.runtime,
      service: 'kask-migration-proxy',
    },
    null,
    2,
  );
}

export function createServiceRoutes(opts: ServiceRoutesOptions): Hono {
  const app = new Hono();
  const health = healthzBody();
  const openapi = opts.openapi ? renderOpenApi(opts.baseUri) : null;

  app.all('/healthz', (c) => c.body(health, 200, { 'Content-Type': 'application/json' }));
  if (opts.metrics) {
    const metrics = opts.metrics;
    app.all('/metrics', async (c) =>
      c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
    );
  }
  if (openapi !== null)
    app.all('/openapi', (c) => c.body(openapi, 200, { 'Content-Type': 'application/x-yaml' }));
  if (opts.readiness) {
    const readiness = opts.readiness;
    app.all('/readyz', async (c) => {
      const r = await readiness();
      return c.json({ ready: r.ready, problems: r.problems }, r.ready ? 200 : 503);
    });
  }
  app.notFound((c) =>
    c.body('404 page not found\n', 404, { 'Content-Type': TEXT_PLAIN, 'X-Content-Type-Options': 'nosniff' }),
  );
  // Never let the framework speak: an unexpected error here is answered the way Go's server would fail.
  app.onError((_err, c) =>
    c.body('Internal Server Error\n', 500, {
      'Content-Type': TEXT_PLAIN,
      'X-Content-Type-Options': 'nosniff',
    }),
  );
  return app;
}
