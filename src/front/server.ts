// The HTTP/1.1 listener. The key-value data path is answered straight from node:http so every byte can match Go's
// net/http (raw request target, HEAD, no URL normalisation, 201/204 framing); Hono serves the other routes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { DataPathHandler } from './data-path.js';
import { inConnectionOrder } from './in-order.js';
import { parseKey } from './key.js';
import { problemBody } from './problem.js';
import { parseTarget } from './target.js';

export interface FrontServerOptions {
  baseUri: string;
  dataPath: DataPathHandler;
  /** Every request outside `baseUri` (src/front/service-routes.ts). */
  serviceRoutes: Hono;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** Go's limit on request line + headers (http.DefaultMaxHeaderBytes); beyond it Node answers 431 like Go does. */
const MAX_HEADER_BYTES = 1 << 20;

export function createFrontServer(opts: FrontServerOptions): Server {
  const base = Buffer.from(opts.baseUri, 'latin1');
  const serviceRoutes = getRequestListener(opts.serviceRoutes.fetch, { overrideGlobalObjects: false });
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: opts.requestTimeoutMs,
      headersTimeout: Math.min(opts.requestTimeoutMs, 60_000),
      // Node enforces both timeouts only when it sweeps connections (every 30 s by default): sweep often enough that
      // a slow client is cut off close to request_timeout_ms, not up to 30 s later.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(opts.requestTimeoutMs / 4))),
      keepAliveTimeout: opts.keepAliveTimeoutMs,
      joinDuplicateHeaders: true,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const target = parseTarget(req.url ?? '/');
      if (target === null) return goPlainError(req.socket, '400 Bad Request');
      if (target.path.length >= base.length && base.equals(target.path.subarray(0, base.length))) {
        return inConnectionOrder(req, res, () => opts.dataPath(req, res, target));
      }
      void serviceRoutes(req, res);
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket, base));
  return server;
}

/** Go's answer to a request it cannot parse: raw status text, no Date, no length, then the connection closes. */
function goPlainError(socket: Duplex, status: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`,
  );
}

/** Malformed HTTP, oversized headers and timed-out slow clients: answer as Go would, or just close. */
function onClientError(
  err: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Duplex,
  base: Buffer,
): void {
  if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT')
    return void socket.destroy();
  if (err.code === 'HPE_INVALID_METHOD' && err.rawPacket) {
    const answer = unknownMethodAnswer(err.rawPacket, base);
    if (answer) return void socket.end(answer);
  }
  goPlainError(
    socket,
    err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request',
  );
}

/**
 * Go accepts any token as a method and Kask answers it with a problem (after its key checks); Node's parser
 * rejects methods it does not know (`get`, `FOO`), so we answer those here from the raw request line, then close.
 */
function unknownMethodAnswer(raw: Buffer, base: Buffer): string | null {
  const line = raw.subarray(0, Math.max(0, raw.indexOf('\r\n'))).toString('latin1');
  const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return null;
  const target = parseTarget(m[1]!);
  if (target === null || !target.path.subarray(0, base.length).equals(base)) return null;
  const parsed = parseKey(target, base);
  const body = problemBody(parsed.kind === 'not-found' ? 'notFound' : 'badRequest', target.path);
  const status = parsed.kind === 'not-found' ? '404 Not Found' : '400 Bad Request';
  return (
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n` +
    `Date: ${new Date().toUTCString()}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString('latin1')}`
  );
}
