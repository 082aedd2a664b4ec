// Graceful drain: stop accepting, let every request already received finish (answers now carry Connection: close,
// as Go's Shutdown does), then wait for background backfills, all within one time budget.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { InFlight } from './in-flight.js';
import type { Logger } from './logging.js';

/** What the drain stops and waits for. */
export interface DrainTargets {
  server: Server;
  inFlight: InFlight;
  background: { readonly size: number; drain(timeoutMs: number): Promise<boolean> };
  logger: Logger;
}

/** What was left when the drain ended (logged). */
export interface DrainReport {
  /** Everything finished inside the budget. */
  completed: boolean;
  requestsLeft: number;
  backgroundLeft: number;
}

const IDLE_SWEEP_MS = 25;

function noKeepAlive(_req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
}

/** Stops `server` accepting and waits (within `budgetMs`) for its requests, then for the background work. */
export async function drain(t: DrainTargets, budgetMs: number): Promise<DrainReport> {
  const deadline = Date.now() + budgetMs;
  t.logger.info(
    {
      'event.action': 'shutdown',
      'kmp.in_flight_requests': t.inFlight.count,
      'kmp.background_tasks': t.background.size,
      'kmp.budget_ms': budgetMs,
    },
    'shutting down: no new connections; draining requests and background work',
  );
  t.server.prependListener('request', noKeepAlive);
  const closed = new Promise<void>((resolve) => t.server.close(() => resolve()));
  // Keep-alive connections that go idle (their last answer sent) are closed as soon as they do.
  t.server.closeIdleConnections();
  const sweep = setInterval(() => t.server.closeIdleConnections(), IDLE_SWEEP_MS);
  await beforeDeadline(closed, deadline);
  clearInterval(sweep);
  await t.background.drain(Math.max(0, deadline - Date.now()));
  const report: DrainReport = {
    completed: t.inFlight.count === 0 && t.background.size === 0,
    requestsLeft: t.inFlight.count,
    backgroundLeft: t.background.size,
  };
  t.server.closeAllConnections();
  logReport(t.logger, report);
  return report;
}

function beforeDeadline(p: Promise<void>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function logReport(logger: Logger, report: DrainReport): void {
  const fields = {
    'event.action': 'shutdown',
    'kmp.in_flight_requests': report.requestsLeft,
    'kmp.background_tasks': report.backgroundLeft,
  };
  if (report.completed) logger.info({ ...fields, 'event.outcome': 'success' }, 'drained');
  else
    logger.warn(
      { ...fields, 'event.outcome': 'failure' },
      'drain budget (shutdown.drain_timeout_ms) ran out; closing with work left',
    );
}
