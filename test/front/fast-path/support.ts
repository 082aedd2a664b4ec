// Two fronts over the same kind of in-memory phase: node:http alone (the reference) and the same server with the
// fast path installed. Feeding both the same bytes and comparing what comes back (and what got stored) tests the
// fast path against the byte-exact path it must agree with.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { createDataPathHandler } from '../../../src/front/data-path.js';
import type { FastConnection } from '../../../src/front/fast-path/connection.js';
import { installFastPath } from '../../../src/front/fast-path/fast-front.js';
import { createFrontServer } from '../../../src/front/server.js';
import { createServiceRoutes } from '../../../src/front/service-routes.js';
import {
  HIT,
  MISS,
  type Phase,
  READ_ERROR,
  type ReadOutcome,
  type RequestMeta,
  WRITE_ERROR,
  WRITE_OK,
  type WriteOutcome,
} from '../../../src/phases/phase.js';
import { type RawResponse, splitResponses } from '../../support/raw-http.js';
import { sleep } from '../../support/wait.js';

export const BASE = '/echoseen/v1/';
export const MAX_KEY = 64;
export const MAX_VALUE = 4096;

/** Keys with fixed behaviour: reads and writes of ERROR_KEY fail; BUG_KEY's promise rejects (a bug). */
export const ERROR_KEY = 'fails';
export const BUG_KEY = 'throws';

/** An in-memory phase that answers after a macrotask (so pipelined requests really wait) and logs every effect. */
export class MemoryPhase implements Phase {
  readonly name = 'emulator' as const;
  readonly store = new Map<string, Buffer>();
  readonly effects: string[] = [];
  readonly metas: RequestMeta[] = [];

  async get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    await this.#turn(key, meta, 'get');
    if (key.toString('latin1') === ERROR_KEY) return READ_ERROR;
    const v = this.store.get(key.toString('latin1'));
    return v ? HIT(v) : MISS;
  }

  async set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    await this.#turn(key, meta, `set=${value.length}`);
    if (key.toString('latin1') === ERROR_KEY) return WRITE_ERROR;
    this.store.set(key.toString('latin1'), value);
    return WRITE_OK;
  }

  async delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    await this.#turn(key, meta, 'delete');
    if (key.toString('latin1') === ERROR_KEY) return WRITE_ERROR;
    this.store.delete(key.toString('latin1'));
    return WRITE_OK;
  }

  async #turn(key: Buffer, meta: RequestMeta, what: string): Promise<void> {
    this.effects.push(`${what} ${key.toString('latin1')}`);
    this.metas.push(meta);
    await new Promise((resolve) => setImmediate(resolve));
    if (key.toString('latin1') === BUG_KEY) throw new Error('a bug');
  }
}

export interface TestFront {
  port: number;
  phase: MemoryPhase;
  server: Server;
  /** The fast path's live connections (empty set for the reference). */
  live: Set<FastConnection>;
  close(): Promise<void>;
}

export interface FrontOptions {
  fast: boolean;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

export async function startFront(opts: FrontOptions): Promise<TestFront> {
  const phase = new MemoryPhase();
  const front = {
    acceptPut: false,
    maxKeyBytes: MAX_KEY,
    maxValueBytes: MAX_VALUE,
    requestTimeoutMs: opts.requestTimeoutMs ?? 5_000,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 5_000,
  };
  const server = createFrontServer({
    baseUri: BASE,
    dataPath: createDataPathHandler({
      ...front,
      baseUri: BASE,
      currentPhase: () => phase,
      metrics: null,
    }),
    serviceRoutes: createServiceRoutes({ baseUri: BASE, openapi: false, metrics: null }),
    requestTimeoutMs: front.requestTimeoutMs,
    keepAliveTimeoutMs: front.keepAliveTimeoutMs,
  });
  const live = opts.fast
    ? installFastPath(server, {
        ...front,
        limits: { base: BASE, ...front },
        currentPhase: () => phase,
        metrics: null,
      })
    : new Set<FastConnection>();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    phase,
    server,
    live,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Sends `pieces` one write at a time (a pause between them, so the server reads them apart) and collects every byte
 * until the server closes (end the pieces with a `Connection: close` request). No half-close: node:http drops
 * pipelined requests still unanswered when the client half-closes, so a half-close would hide what they get.
 */
export async function exchange(port: number, pieces: Buffer[], pauseMs = 1): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {}); // a reset is an answer too: what arrived before it is compared
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  for (const [i, piece] of pieces.entries()) {
    if (i > 0) await sleep(pauseMs);
    if (socket.destroyed) break;
    socket.write(piece);
  }
  const timer = setTimeout(() => socket.destroy(new Error('the server never closed')), 1_000);
  await closed;
  clearTimeout(timer);
  if (socket.errored?.message === 'the server never closed')
    throw new Error(
      `no close; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 400))}`,
    );
  return Buffer.concat(chunks);
}

/**
 * Sends `requests` one at a time on one connection, each only after the previous one's final answer (or until the
 * server closes): the answers Go's one-request-at-a-time server gives, free of node:http's pipelining quirks.
 */
export async function oneByOne(port: number, requests: Buffer[]): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let wake: (() => void) | null = null;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    wake?.();
  });
  socket.on('error', () => {});
  let open = true;
  socket.on('close', () => {
    open = false;
    wake?.();
  });
  await once(socket, 'connect');
  for (const [i, request] of requests.entries()) {
    if (!open) break;
    socket.write(request);
    const deadline = Date.now() + 3_000;
    while (open && finalAnswers(Buffer.concat(chunks)) < i + 1) {
      if (Date.now() > deadline) throw new Error(`no answer to request ${i}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
  if (open) socket.destroy();
  return Buffer.concat(chunks);
}

/** How many complete final (non-1xx) answers `raw` holds so far. */
function finalAnswers(raw: Buffer): number {
  try {
    return splitResponses(raw).filter(
      (r) => r.status >= 200 && r.body.length >= Number(r.header('content-length') ?? 0),
    ).length;
  } catch {
    return 0;
  }
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, inside the buffer). */
export function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.filter((i) => i > 0 && i < bytes.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** What both fronts must agree on: everything but Date, header order and node:http's Keep-Alive headers. */
export interface Answer {
  status: number;
  contentType: string | undefined;
  contentLength: string | undefined;
  nosniff: string | undefined;
  close: boolean;
  chunked: boolean;
  body: string;
}

export function answers(raw: Buffer): Answer[] {
  return splitResponses(raw).map((r: RawResponse) => ({
    status: r.status,
    contentType: r.header('content-type'),
    contentLength: r.header('content-length'),
    nosniff: r.header('x-content-type-options'),
    close: r.header('connection') === 'close',
    chunked: r.chunked,
    body: r.body.toString('latin1'),
  }));
}

/** A request as RESTBagOStuff sends it (the fast path's shape). */
export function kaskRequest(
  method: 'GET' | 'POST' | 'DELETE',
  key: string,
  value?: Buffer,
  extra: string[] = [],
): Buffer {
  const lines = [`${method} ${BASE}${key} HTTP/1.1`, 'Host: 127.0.0.1', ...extra];
  if (value) lines.push('Content-Type: application/octet-stream', `Content-Length: ${value.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), value ?? Buffer.alloc(0)]);
}

/** The last request of an exchange: answered on either path, then the server closes. */
export const CLOSING_GET = kaskRequest('GET', 'last', undefined, ['Connection: close']);
