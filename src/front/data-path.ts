// The key-value routes under the base URI: Kask's checks in Kask's order, then the current phase does the work.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import { methodLabel } from '../ops/metrics.js';
import type { Phase, RequestMeta } from '../phases/phase.js';
import { readBody } from './body.js';
import { parseKey } from './key.js';
import { badRequest, notFound, serverError } from './problem.js';
import type { RequestTarget } from './target.js';

export interface DataPathOptions {
  baseUri: string;
  acceptPut: boolean;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** Resolved once per request: the request runs wholly under the phase it started in. */
  currentPhase: () => Phase;
  metrics: Metrics | null;
  /** Counts requests still being answered, for graceful drain. */
  inFlight?: { enter(): void; leave(): void };
  /** At debug level, one line per request (request id, method, path, status, duration; never the value). */
  logger?: Logger;
}

const OCTET_STREAM = 'application/octet-stream';
/** Go's ResponseWriter buffers 2048 bytes: larger bodies go out chunked, smaller ones with Content-Length. */
const GO_BUFFER_BYTES = 2048;

export type DataPathHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void;

export function createDataPathHandler(opts: DataPathOptions): DataPathHandler {
  const base = Buffer.from(opts.baseUri, 'latin1');
  const metrics = opts.metrics;
  const logger = opts.logger;

  return function handleDataPath(req, res, target) {
    const started = performance.now();
    const phase = opts.currentPhase();
    const meta = requestMeta(req);
    if (metrics || logger) {
      res.once('finish', () => {
        const code = String(res.statusCode);
        const method = methodLabel(req.method ?? '');
        const seconds = (performance.now() - started) / 1000;
        metrics?.recordRequest(code, method, phase.name, seconds);
        if (logger?.isLevelEnabled('debug')) logRequest(logger, req, res, target, meta, phase, seconds);
      });
    }
    opts.inFlight?.enter();
    res.once('close', () => opts.inFlight?.leave());
    dispatch(req, res, target, phase, meta).catch(() => {
      // Outcomes are values; reaching here is a bug. Answer like Kask would for a storage error, never crash.
      if (!res.headersSent) serverError(res, target.path);
      else res.destroy();
    });
  };

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    target: RequestTarget,
    phase: Phase,
    meta: RequestMeta,
  ): Promise<void> {
    const parsed = parseKey(target, base);
    if (parsed.kind === 'bad-request') return badRequest(res, target.path);
    if (parsed.kind === 'not-found') return notFound(res, target.path);
    const key = parsed.key;
    const method = req.method;
    if (method === 'GET') {
      if (key.length > opts.maxKeyBytes) return badRequest(res, target.path);
      const outcome = await phase.get(key, meta);
      if (outcome.kind === 'hit') return writeValue(res, outcome.value);
      return outcome.kind === 'miss' ? notFound(res, target.path) : serverError(res, target.path);
    }
    if (method === 'POST' || (method === 'PUT' && opts.acceptPut)) {
      if (key.length > opts.maxKeyBytes) return badRequest(res, target.path, true);
      const body = await readBody(req, opts.maxValueBytes);
      if (body.kind === 'aborted') return void res.destroy();
      // Oversize: answer without reading the rest, then close so the unread body cannot be taken for a request.
      if (body.kind === 'too-large') return badRequest(res, target.path, true);
      if (body.bytes.length === 0) return badRequest(res, target.path);
      const outcome = await phase.set(key, body.bytes, meta);
      return outcome.kind === 'ok' ? writeCreated(res) : serverError(res, target.path);
    }
    if (method === 'DELETE') {
      if (key.length > opts.maxKeyBytes) return badRequest(res, target.path);
      const outcome = await phase.delete(key, meta);
      return outcome.kind === 'ok' ? writeNoContent(res) : serverError(res, target.path);
    }
    // PUT and every other method: Kask answers 400, never 405.
    return badRequest(res, target.path);
  }
}

/** The debug access line: keys may appear (in the path), values never. */
function logRequest(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  target: RequestTarget,
  meta: RequestMeta,
  phase: Phase,
  seconds: number,
): void {
  logger.debug(
    {
      'event.action': 'request',
      'trace.id': meta.requestId,
      'http.request.method': req.method,
      'url.path': target.path.subarray(0, 512).toString('latin1'),
      'http.response.status_code': res.statusCode,
      'event.duration': Math.round(seconds * 1e9),
      'kmp.phase': phase.name,
    },
    'request',
  );
}

function requestMeta(req: IncomingMessage): RequestMeta {
  const h = req.headers;
  const incomingId = h['x-request-id'];
  const requestId = typeof incomingId === 'string' && incomingId !== '' ? incomingId : randomUUID();
  const forward: Record<string, string> = { 'x-request-id': requestId };
  if (typeof h.traceparent === 'string') forward.traceparent = h.traceparent;
  if (typeof h.tracestate === 'string') forward.tracestate = h.tracestate;
  return { requestId, forward };
}

function writeValue(res: ServerResponse, value: Buffer): void {
  if (value.length <= GO_BUFFER_BYTES) {
    res.writeHead(200, { 'Content-Type': OCTET_STREAM, 'Content-Length': value.length });
    res.end(value);
    return;
  }
  res.writeHead(200, { 'Content-Type': OCTET_STREAM });
  res.write(value);
  res.end();
}

/** Kask's 201 has no Content-Type (it is set after WriteHeader, so Go drops it) and an explicit zero length. */
function writeCreated(res: ServerResponse): void {
  res.writeHead(201, { 'Content-Length': 0 });
  res.end();
}

function writeNoContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}
