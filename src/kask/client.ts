// Kask over HTTP: a keep-alive pool of HTTP/1.1 connections with bounded connections and one deadline per call.
import { readFileSync } from 'node:fs';
import { percentEncode } from '../net/percent-encoding.js';
import { Http1Pool, PoolError } from './http1-pool.js';

export type KaskRead = { kind: 'hit'; value: Buffer } | { kind: 'miss' };

export type BackendErrorCode = 'KASK_TIMEOUT' | 'KASK_UNAVAILABLE' | 'KASK_STATUS' | 'KASK_OPEN';

/** A Kask call that did not produce a usable answer; `code` is stable, branch on it (never on the message). */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    readonly code: BackendErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface KaskClientOptions {
  /** Kask's URL including its base path, e.g. `http://127.0.0.1:8080/echoseen/v1/`. */
  url: string;
  connections: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  caFile: string | null;
  /** Requests in flight per connection (HTTP/1.1 pipelining, bulk tools only; see Http1PoolOptions). Default 1. */
  pipelineDepth?: number;
  /** Re-send a GET whose reused connection closed under it (default true; see Http1PoolOptions). */
  retryGets?: boolean;
  /** Told the outcome and start time (performance.now()) of every call: feeds the backend latency histogram. */
  onCall?: (op: KaskOp, outcome: 'ok' | 'error' | 'timeout', startedMs: number) => void;
}

export type KaskOp = 'get' | 'set' | 'delete';

type Method = 'GET' | 'POST' | 'DELETE';
/** Kask's answer to one call, or the pool's reason there is none. */
type Answer = { status: number; body: Buffer };

export class KaskClient {
  readonly #pool: Http1Pool;
  readonly #basePath: string;
  /** The whole call (queueing for a connection, connecting, headers, body) must end within this. */
  readonly #deadlineMs: number;
  readonly #onCall: NonNullable<KaskClientOptions['onCall']>;

  constructor(opts: KaskClientOptions) {
    this.#onCall = opts.onCall ?? (() => {});
    const url = new URL(opts.url);
    this.#basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    this.#deadlineMs = opts.requestTimeoutMs;
    this.#pool = new Http1Pool({
      origin: new URL(url.origin),
      connections: opts.connections,
      connectTimeoutMs: opts.connectTimeoutMs,
      keepAliveTimeoutMs: 4_000,
      ca: opts.caFile ? readFileSync(opts.caFile) : null,
      pipelineDepth: opts.pipelineDepth ?? 1,
      retryGets: opts.retryGets ?? true,
    });
  }

  async get(key: Buffer, forward: Record<string, string> = {}): Promise<KaskRead> {
    const started = performance.now();
    try {
      const res = await this.#call('GET', key, forward, null);
      this.#onCall('get', 'ok', started);
      if (res.status === 200) return { kind: 'hit', value: res.body };
      if (res.status === 404) return MISS;
      throw new BackendError('KASK_STATUS', `Kask answered GET with ${res.status}`, res.status);
    } catch (err) {
      this.#onCall('get', callOutcome(err), started);
      throw err;
    }
  }

  async set(key: Buffer, value: Buffer, forward: Record<string, string> = {}): Promise<void> {
    const started = performance.now();
    try {
      const res = await this.#call('POST', key, forward, value);
      if (res.status !== 201 && res.status !== 200 && res.status !== 204)
        throw new BackendError('KASK_STATUS', `Kask answered POST with ${res.status}`, res.status);
      this.#onCall('set', 'ok', started);
    } catch (err) {
      this.#onCall('set', callOutcome(err), started);
      throw err;
    }
  }

  /** Kask's DELETE is idempotent (204 whether or not the key existed); a 404 from a front means the same. */
  async delete(key: Buffer, forward: Record<string, string> = {}): Promise<void> {
    const started = performance.now();
    try {
      const res = await this.#call('DELETE', key, forward, null);
      if (res.status !== 204 && res.status !== 200 && res.status !== 404)
        throw new BackendError('KASK_STATUS', `Kask answered DELETE with ${res.status}`, res.status);
      this.#onCall('delete', 'ok', started);
    } catch (err) {
      this.#onCall('delete', callOutcome(err), started);
      throw err;
    }
  }

  #call(method: Method, key: Buffer, forward: Record<string, string>, body: Buffer | null): Promise<Answer> {
    const path = this.#basePath + percentEncode(key);
    let headers = body === null ? '' : POST_HEADERS;
    for (const name in forward) {
      const value = forward[name]!;
      // Forwarded values come from client headers, which cannot hold CR or LF; never let one split the request.
      if (!/[\r\n]/.test(value)) headers += `${name}: ${value}\r\n`;
    }
    return new Promise((resolve, reject) => {
      // The deadline also drops a call still queued for a connection: abandoned, it is never sent late.
      this.#pool.request(method, path, headers, body, this.#deadlineMs, (err, status, answer) => {
        if (err === null) resolve({ status, body: answer });
        else reject(toKaskError(method, err));
      });
    });
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

const MISS: KaskRead = Object.freeze({ kind: 'miss' });
const POST_HEADERS = 'content-type: application/octet-stream\r\n';

function callOutcome(err: unknown): 'error' | 'timeout' {
  return err instanceof BackendError && err.code === 'KASK_TIMEOUT' ? 'timeout' : 'error';
}

/**
 * The one mapping from a failed Kask call to Kask's typed error, used here and by every wrapper around a `KaskApi`
 * (src/resilience/guarded-backends.ts): a typed error passes through; the pool's timeouts and an aborted deadline
 * (a `TimeoutError`) are KASK_TIMEOUT; anything else is KASK_UNAVAILABLE.
 */
export function toKaskError(method: string, err: unknown): BackendError {
  if (err instanceof BackendError) return err;
  if (isTimeout(err))
    return new BackendError('KASK_TIMEOUT', `Kask ${method} timed out`, undefined, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new BackendError('KASK_UNAVAILABLE', `Kask ${method} failed: ${message}`, undefined, { cause: err });
}

function isTimeout(err: unknown): boolean {
  if (err instanceof PoolError) return err.kind === 'timeout' || err.kind === 'connect-timeout';
  return err instanceof Error && err.name === 'TimeoutError';
}
