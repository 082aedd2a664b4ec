// Kask over HTTP: an undici keep-alive pool with bounded connections and per-request time budgets.
import { readFileSync } from 'node:fs';
import { errors, Pool } from 'undici';
import { percentEncode } from '../net/percent-encoding.js';
import { DeadlineSignals } from './deadline.js';

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
  /** Told the outcome and start time (performance.now()) of every call: feeds the backend latency histogram. */
  onCall?: (op: KaskOp, outcome: 'ok' | 'error' | 'timeout', startedMs: number) => void;
}

export type KaskOp = 'get' | 'set' | 'delete';

const POST_HEADERS = { 'content-type': 'application/octet-stream' };

export class KaskClient {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #timeouts: { headersTimeout: number; bodyTimeout: number };
  /** The whole call (queueing for a connection, connecting, headers, body) must end within the deadline. */
  readonly #deadlines: DeadlineSignals;
  readonly #onCall: NonNullable<KaskClientOptions['onCall']>;

  constructor(opts: KaskClientOptions) {
    this.#onCall = opts.onCall ?? (() => {});
    const url = new URL(opts.url);
    this.#basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    this.#timeouts = { headersTimeout: opts.requestTimeoutMs, bodyTimeout: opts.requestTimeoutMs };
    this.#deadlines = new DeadlineSignals(opts.requestTimeoutMs);
    this.#pool = new Pool(url.origin, {
      connections: opts.connections,
      connectTimeout: opts.connectTimeoutMs,
      keepAliveTimeout: 4_000,
      pipelining: 1,
      connect: opts.caFile ? { ca: readFileSync(opts.caFile) } : undefined,
    });
  }

  #path(key: Buffer): string {
    return this.#basePath + percentEncode(key);
  }

  async get(key: Buffer, forward: Record<string, string> = {}): Promise<KaskRead> {
    const started = performance.now();
    try {
      const read = await this.#get(key, forward);
      this.#onCall('get', 'ok', started);
      return read;
    } catch (err) {
      this.#onCall('get', callOutcome(err), started);
      throw err;
    }
  }

  async set(key: Buffer, value: Buffer, forward: Record<string, string> = {}): Promise<void> {
    const started = performance.now();
    try {
      await this.#set(key, value, forward);
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
      await this.#delete(key, forward);
      this.#onCall('delete', 'ok', started);
    } catch (err) {
      this.#onCall('delete', callOutcome(err), started);
      throw err;
    }
  }

  async #get(key: Buffer, forward: Record<string, string>): Promise<KaskRead> {
    const res = await this.#call('GET', key, forward);
    if (res.statusCode === 200) return { kind: 'hit', value: Buffer.from(await res.body.arrayBuffer()) };
    await res.body.dump();
    if (res.statusCode === 404) return { kind: 'miss' };
    throw new BackendError('KASK_STATUS', `Kask answered GET with ${res.statusCode}`, res.statusCode);
  }

  async #set(key: Buffer, value: Buffer, forward: Record<string, string>): Promise<void> {
    const res = await this.#call('POST', key, { ...forward, ...POST_HEADERS }, value);
    await res.body.dump();
    if (res.statusCode === 201 || res.statusCode === 200 || res.statusCode === 204) return;
    throw new BackendError('KASK_STATUS', `Kask answered POST with ${res.statusCode}`, res.statusCode);
  }

  async #delete(key: Buffer, forward: Record<string, string>): Promise<void> {
    const res = await this.#call('DELETE', key, forward);
    await res.body.dump();
    if (res.statusCode === 204 || res.statusCode === 200 || res.statusCode === 404) return;
    throw new BackendError('KASK_STATUS', `Kask answered DELETE with ${res.statusCode}`, res.statusCode);
  }

  async #call(
    method: 'GET' | 'POST' | 'DELETE',
    key: Buffer,
    headers: Record<string, string>,
    body?: Buffer,
  ) {
    try {
      // The deadline also drops a request still queued for a connection: abandoned, it must never be sent late.
      const signal = this.#deadlines.current();
      return await this.#pool.request({
        method,
        path: this.#path(key),
        headers,
        body,
        signal,
        ...this.#timeouts,
      });
    } catch (err) {
      throw toBackendError(method, err);
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

function callOutcome(err: unknown): 'error' | 'timeout' {
  return err instanceof BackendError && err.code === 'KASK_TIMEOUT' ? 'timeout' : 'error';
}

function toBackendError(method: string, err: unknown): BackendError {
  if (
    err instanceof errors.HeadersTimeoutError ||
    err instanceof errors.BodyTimeoutError ||
    err instanceof errors.ConnectTimeoutError ||
    (err instanceof Error && err.name === 'TimeoutError') // the AbortSignal deadline
  ) {
    return new BackendError('KASK_TIMEOUT', `Kask ${method} timed out`, undefined, { cause: err });
  }
  return new BackendError('KASK_UNAVAILABLE', `Kask ${method} failed: ${(err as Error).message}`, undefined, {
    cause: err,
  });
}
