// The admin API (its own listener, localhost by default): GET/PUT /phase, GET /status and GET /fleet, behind a
// bearer token.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { type ListenAddress, PHASE_NAMES, type PhaseName } from '../config/schema.js';
import { listen } from '../net/listen.js';
import { bearerCheck } from './admin-auth.js';
import { LogRateLimit } from './log-rate-limit.js';
import type { Logger } from './logging.js';
import type { PhaseChange, PhaseControl } from './phase-control.js';

/** What the admin routes act on; the token is only ever compared, never logged or echoed. */
export interface AdminDeps {
  token: string | null;
  control: PhaseControl;
  status: () => Promise<Record<string, unknown>>;
  /** The fleet registry's view (every live sidecar's phase); throws when Redis cannot be read. */
  fleet: () => Promise<unknown>;
  logger: Logger;
}

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="kask-migration-proxy admin"' };

/** The Hono app: auth middleware first, then /phase and /status; every answer is JSON. */
export function createAdminApp(deps: AdminDeps): Hono {
  const app = new Hono();
  const authorized = bearerCheck(deps.token);
  const unauthorizedLog = new LogRateLimit(5, 60_000);
  const reason =
    deps.token === null
      ? 'no admin token is configured (admin.token_file or KMP_ADMIN_TOKEN): every admin request is refused'
      : 'missing or invalid bearer token';
  app.use('*', async (c, next) => {
    if (authorized(c.req.header('authorization'))) return next();
    const suppressed = unauthorizedLog.take();
    if (suppressed !== null)
      deps.logger.warn(
        {
          'event.action': 'admin.auth',
          'event.outcome': 'failure',
          'url.path': c.req.path,
          'kmp.suppressed': suppressed,
        },
        'admin request refused: not authorized',
      );
    return c.json({ error: 'unauthorized', reason }, 401, CHALLENGE);
  });
  app.get('/phase', (c) => c.json({ phase: deps.control.phase }));
  app.put('/phase', (c) => putPhase(c, deps.control));
  app.get('/status', async (c) => c.json(await deps.status()));
  app.get('/fleet', async (c) => {
    try {
      return c.json(await deps.fleet());
    } catch (err) {
      return c.json(
        { error: 'unavailable', reason: `cannot read the fleet registry: ${(err as Error).message}` },
        503,
      );
    }
  });
  app.notFound((c) =>
    c.json({ error: 'not_found', reason: 'routes: GET /phase, PUT /phase, GET /status, GET /fleet' }, 404),
  );
  app.onError((err, c) => {
    deps.logger.error({ 'event.action': 'admin', 'error.message': err.message }, 'admin request failed');
    return c.json({ error: 'internal', reason: 'the admin request failed; see the log' }, 500);
  });
  return app;
}

/** `{"phase": NAME, "force": false}` → 200 with the change, 400 on a bad body, 409 when the guard refuses. */
async function putPhase(c: Context, control: PhaseControl): Promise<Response> {
  const body = await c.req.json().catch(() => null);
  const parsed = parsePhaseBody(body);
  if (typeof parsed === 'string') return c.json({ error: 'bad_request', reason: parsed }, 400);
  const change = await control.request({ to: parsed.phase, force: parsed.force, source: 'admin' });
  return answerChange(c, change);
}

function parsePhaseBody(body: unknown): { phase: PhaseName; force: boolean } | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return 'body must be a JSON object like {"phase": "migration", "force": false}';
  const { phase, force } = body as { phase?: unknown; force?: unknown };
  if (typeof phase !== 'string' || !PHASE_NAMES.includes(phase as PhaseName))
    return `phase must be one of ${PHASE_NAMES.join(', ')}`;
  if (force !== undefined && typeof force !== 'boolean') return 'force must be true or false';
  return { phase: phase as PhaseName, force: force === true };
}

function answerChange(c: Context, change: PhaseChange): Response {
  switch (change.kind) {
    case 'unchanged':
      return c.json({ phase: change.phase, previous: change.phase, changed: false, forced: false });
    case 'changed':
      return c.json({ phase: change.to, previous: change.from, changed: true, forced: change.forced });
    case 'refused':
      return c.json(
        { error: 'refused', phase: change.from, requested: change.to, reason: change.reason },
        409,
      );
    case 'failed':
      return c.json(
        { error: 'failed', phase: change.from, requested: change.to, reason: change.reason },
        500,
      );
  }
}

/** A bound admin listener, closed on shutdown. */
export interface RunningAdmin {
  url: string;
  close(): Promise<void>;
}

/** Binds the admin listener; a missing token is warned about once here. */
export async function startAdminServer(address: ListenAddress, deps: AdminDeps): Promise<RunningAdmin> {
  const server: Server = createServer(
    getRequestListener(createAdminApp(deps).fetch, { overrideGlobalObjects: false }),
  );
  await listen(server, address.host, address.port);
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  deps.logger.info({ 'event.action': 'admin.start', 'url.full': url }, `admin API on ${url}`);
  if (deps.token === null)
    deps.logger.warn(
      { 'event.action': 'admin.start', 'event.reason': 'no token' },
      'no admin token configured (admin.token_file or KMP_ADMIN_TOKEN): the admin API refuses every request',
    );
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
