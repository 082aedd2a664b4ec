// The key-value routes under the base URI: Kask's checks in Kask's order, then the current phase does the work.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
}

const OCTET_STREAM = 'application/octet-stream';
/** Go's ResponseWriter buffers 2048 bytes: larger bodies go out chunked, smaller ones with Content-Length. */
const GO_BUFFER_BYTES = 2048;

export type DataPathHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void;

export function createDataPathHandler(opts: DataPathOptions): DataPathHandler {
  const base = Buffer.from(opts.baseUri, 'latin1');
  const metrics = opts.metrics;

  return function handleDataPath(req, res, target) {
    const started = performance.now();
    const phase = opts.currentPhase();
    if (metrics) {
      res.once('finish', () => {
        const code = String(res.statusCode);
        const method = methodLabel(req.method ?? '');
        metrics.requests.inc({ code, method, phase: phase.name });
        metrics.requestDuration.observe({ code, method }, (performance.now() - started) / 1000);
      });
    }
    opts.inFlight?.enter();
    res.once('close', () => opts.inFlight?.leave());
    dispatch(req, res, target, phase).catch(() => {
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
  ): Promise<void> {
    const parsed = parseKey(target, base);
    if (parsed.kind === 'bad-request') return badRequest(res, target.path);
    if (parsed.kind === 'not-found') return notFound(res, target.path);
    const key = parsed.key;
    const method = req.method;
    if (method === 'GET') {
      if (key.length > opts.maxKeyBytes) return badRequest(res, target.path);
      const outcome = await phase.get(key, requestMeta(req));
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
      const outcome = await phase.set(key, body.bytes, requestMeta(req));
      return outcome.kind === 'ok' ? writeCreated(res) : serverError(res, target.path);
    }
    if (method === 'DELETE') {
      if (key.length > opts.maxKeyBytes) return badRequest(res, target.path);
      const outcome = await phase.delete(key, requestMeta(req));
      return outcome.kind === 'ok' ? writeNoContent(res) : serverError(res, target.path);
    }
    // PUT and every other method: Kask answers 400, never 405.
    return badRequest(res, target.path);
  }
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
