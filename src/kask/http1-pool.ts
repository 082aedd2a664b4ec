// A keep-alive pool of HTTP/1.1 connections to one origin, for Kask's small request/response exchanges: one request
// per connection at a time (or, for bulk tools, up to `pipelineDepth` pipelined ones), Content-Length or chunked
// answers, one deadline per call that also covers waiting for a connection. Callbacks, not promises or streams: the
// pool costs a few object fields per call.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { SWEEP_MS, slotDeadline } from '../net/slot-deadline.js';

export type PoolErrorKind = 'timeout' | 'connect-timeout' | 'connection' | 'protocol' | 'closed';

/** A call that got no usable answer. `kind` is stable; the message says what happened. */
export class PoolError extends Error {
  override readonly name = 'PoolError';
  /** The request had been written to a connection: Kask may have applied it (a write's outcome is unknown). */
  sent = false;
  constructor(
    readonly kind: PoolErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The answer: status and the whole body (empty for none). */
export type PoolCallback = (err: PoolError | null, status: number, body: Buffer) => void;

export interface Http1PoolOptions {
  /** `http:` or `https:` origin. */
  origin: URL;
  /** At most this many connections; further calls wait for one. */
  connections: number;
  connectTimeoutMs: number;
  /** An idle connection is closed after this (below the server's own idle timeout, to avoid reusing a dying one). */
  keepAliveTimeoutMs: number;
  ca: Buffer | null;
  /**
   * Requests in flight per connection (HTTP/1.1 pipelining; default 1, none). Above 1, requests made in the same
   * turn of the event loop also share one write. Only for servers that answer pipelined requests in order, as
   * HTTP/1.1 requires and Go's net/http does; many proxies do not, so the request path never uses it.
   */
  pipelineDepth?: number;
  /** Re-send a GET whose reused connection closed before its answer (default true; off for probes). */
  retryGets?: boolean;
}

const MAX_HEAD_BYTES = 64 * 1024;
/** Bodies up to this size go out in the same write as the head. */
const ONE_WRITE_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

interface Call {
  method: string;
  /** The request's bytes up to the body. */
  head: string;
  body: Buffer | null;
  /** performance.now() by which the call must have ended. */
  deadline: number;
  callback: PoolCallback;
  /** A GET that met a reused connection closing under it is sent once more, on another connection. */
  retried: boolean;
}

export class Http1Pool {
  readonly #opts: Http1PoolOptions;
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  /** Connections that can take a call now (idle, or pipelining below its depth); the most recent is used first. */
  readonly #ready: Connection[] = [];
  readonly #all = new Set<Connection>();
  #queue: Call[] = [];
  #closing = false;
  /** Runs while there is anything to check (calls, connections); stopped when the pool has nothing at all. */
  #sweep: NodeJS.Timeout | null = null;

  constructor(opts: Http1PoolOptions) {
    this.#opts = opts;
    const https = opts.origin.protocol === 'https:';
    this.#host = opts.origin.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(opts.origin.port) || (https ? 443 : 80);
    this.#hostHeader = opts.origin.host;
  }

  /**
   * Sends `method path` with the given extra header lines (each `name: value\r\n`) and optional body. `callback`
   * runs exactly once: with the answer, or an error by `timeoutMs` at the latest (plus one sweep).
   */
  request(
    method: string,
    path: string,
    headerLines: string,
    body: Buffer | null,
    timeoutMs: number,
    callback: PoolCallback,
  ): void {
    if (this.#closing) return void callback(new PoolError('closed', 'the pool is closed'), 0, EMPTY);
    const length = body === null ? '' : `content-length: ${body.length}\r\n`;
    const call: Call = {
      method,
      head: `${method} ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n${headerLines}${length}\r\n`,
      body,
      deadline: slotDeadline(performance.now(), timeoutMs),
      callback,
      retried: false,
    };
    if (this.#sweep === null) {
      this.#sweep = setInterval(() => this.#check(), SWEEP_MS);
      this.#sweep.unref();
    }
    const conn = this.#ready[this.#ready.length - 1];
    if (conn !== undefined) {
      conn.send(call);
      if (!conn.hasRoom) this.#unready(conn);
      return;
    }
    this.#queue.push(call);
    if (this.#all.size < this.#opts.connections) this.#open();
  }

  /** Stops taking calls, lets the ones under way finish, then closes every connection. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#queue.length > 0 || [...this.#all].some((c) => c.busy))
      await new Promise((resolve) => setTimeout(resolve, SWEEP_MS));
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
    for (const conn of this.#all) conn.destroy();
  }

  #open(): void {
    const { ca } = this.#opts;
    const socket =
      this.#opts.origin.protocol === 'https:'
        ? tlsConnect({
            host: this.#host,
            port: this.#port,
            // SNI takes names only; for an address the certificate is still checked against it.
            ...(isIP(this.#host) ? {} : { servername: this.#host }),
            ...(ca ? { ca } : {}),
          })
        : netConnect({ host: this.#host, port: this.#port });
    const depth = Math.max(1, this.#opts.pipelineDepth ?? 1);
    this.#all.add(new Connection(socket, this, this.#opts.origin.protocol === 'https:', depth));
  }

  /** A connection has room for a call: the next queued ones that are still in time, or it waits in `#ready`. */
  released(conn: Connection): void {
    const now = performance.now();
    while (this.#queue.length > 0 && conn.hasRoom) {
      const call = this.#queue.shift()!;
      if (call.deadline > now) conn.send(call);
      else expire(call);
    }
    // Filled up from the queue: it may have been ready before; it is not now.
    if (!conn.hasRoom) return void this.#unready(conn);
    if (this.#closing && !conn.busy) return void conn.destroy();
    if (!conn.ready) {
      conn.ready = true;
      this.#ready.push(conn);
    }
  }

  #unready(conn: Connection): void {
    if (!conn.ready) return;
    conn.ready = false;
    const at = this.#ready.lastIndexOf(conn);
    if (at !== -1) this.#ready.splice(at, 1);
  }

  /**
   * A connection ended. Its calls in flight, oldest first, are each retried (see Call.retried; `retryable`: not a
   * byte of their answers came back) or failed.
   */
  lost(conn: Connection, calls: readonly Call[], err: PoolError, retryable: boolean): void {
    this.#all.delete(conn);
    this.#unready(conn);
    const retries: Call[] = [];
    for (const call of calls) {
      const retry = retryable && this.#opts.retryGets !== false;
      if (retry && !call.retried && call.method === 'GET' && err.kind === 'connection') {
        call.retried = true;
        retries.push(call);
      } else {
        err.sent = true;
        call.callback(err, 0, EMPTY);
      }
    }
    // Retried calls go back to the front of the queue, in their original order.
    if (retries.length > 0) this.#queue.unshift(...retries);
    // Nothing left that could serve the queue (Kask unreachable): fail it now rather than at its deadline.
    if (!conn.connected && this.#all.size === 0) {
      const queue = this.#queue;
      this.#queue = [];
      for (const c of queue) c.callback(err, 0, EMPTY);
    }
    // A working connection that died is replaced at once; a failed connect is retried at the next sweep at most.
    if (conn.connected && this.#queue.length > 0 && this.#all.size < this.#opts.connections && !this.#closing)
      this.#open();
  }

  #check(): void {
    const now = performance.now();
    if (this.#queue.length > 0 && this.#queue[0]!.deadline <= now) {
      const late = this.#queue.filter((c) => c.deadline <= now);
      this.#queue = this.#queue.filter((c) => c.deadline > now);
      for (const call of late) expire(call);
    }
    for (const conn of this.#all) conn.check(now, this.#opts);
    if (this.#queue.length > 0 && this.#all.size < this.#opts.connections && !this.#closing) this.#open();
    // Idle connections expire within keep_alive; once none is left and nothing waits, nothing needs a sweep.
    if (this.#all.size === 0 && this.#queue.length === 0 && this.#sweep !== null) {
      clearInterval(this.#sweep);
      this.#sweep = null;
    }
  }
}

function expire(call: Call): void {
  call.callback(new PoolError('timeout', `no answer within the deadline`), 0, EMPTY);
}

/** One connection: its calls in flight, in the order sent (at most its depth); parses their answers in turn. */
class Connection {
  connected = false;
  /** In the pool's ready list. */
  ready = false;
  /** Oldest first: the answer being read is the first one's. */
  readonly #calls: Call[] = [];
  #corked = false;
  #reused = false;
  #since = performance.now();
  #gone = false;
  // The answer being read.
  #buf: Buffer = EMPTY;
  #status = 0;
  #bodyAt = -1;
  #length = -1;
  #chunked = false;
  #close = false;

  constructor(
    readonly socket: Socket,
    readonly pool: Http1Pool,
    tls: boolean,
    readonly depth: number,
  ) {
    socket.setNoDelay(true);
    socket.once(tls ? 'secureConnect' : 'connect', this.#onConnect);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  get busy(): boolean {
    return this.#calls.length > 0;
  }

  get hasRoom(): boolean {
    return this.connected && !this.#gone && this.#calls.length < this.depth;
  }

  send(call: Call): void {
    this.#calls.push(call);
    this.#since = performance.now();
    const socket = this.socket;
    // Pipelining: requests made in this turn of the event loop leave in one write when it ends.
    if (this.depth > 1 && !this.#corked) {
      this.#corked = true;
      socket.cork();
      setImmediate(this.#uncork);
    }
    // One latin1 string (bytes map 1:1) is one write: cheaper than corking a head and a buffer into a writev.
    if (call.body === null) socket.write(call.head, 'latin1');
    else if (call.body.length <= ONE_WRITE_BYTES)
      socket.write(call.head + call.body.toString('latin1'), 'latin1');
    else {
      socket.cork();
      socket.write(call.head, 'latin1');
      socket.write(call.body);
      socket.uncork();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  check(now: number, opts: Http1PoolOptions): void {
    // When any call's deadline passes (retried GETs can be older than calls sent before them), the connection is
    // given up, and with it the other calls pipelined on it.
    if (this.#calls.length > 0) {
      if (this.#calls.some((c) => c.deadline <= now))
        this.#fail(new PoolError('timeout', 'no answer within the deadline'));
    } else if (!this.connected) {
      if (now - this.#since > opts.connectTimeoutMs)
        this.#fail(new PoolError('connect-timeout', `connect timed out after ${opts.connectTimeoutMs} ms`));
    } else if (now - this.#since > opts.keepAliveTimeoutMs) this.destroy();
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  readonly #onConnect = (): void => {
    this.connected = true;
    this.pool.released(this);
  };

  readonly #onData = (chunk: Buffer): void => {
    if (this.#calls.length === 0)
      return void this.#fail(new PoolError('protocol', 'data with no request outstanding'));
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#parse();
  };

  readonly #onEnd = (): void => {
    // An answer framed by the end of the connection (neither length nor chunking) is complete now.
    if (this.#calls.length > 0 && this.#bodyAt !== -1 && this.#length === -1 && !this.#chunked) {
      this.#close = true;
      return void this.#complete(this.#buf.subarray(this.#bodyAt), this.#buf.length);
    }
    this.#fail(new PoolError('connection', 'Kask closed the connection'));
  };

  readonly #onError = (err: Error): void => {
    this.#fail(new PoolError('connection', err.message));
  };

  readonly #onClose = (): void => {
    this.#fail(new PoolError('connection', 'the connection closed'));
  };

  #fail(err: PoolError): void {
    if (this.#gone) return;
    this.#gone = true;
    this.socket.destroy();
    const calls = this.#calls.splice(0);
    // Retry only when not a byte of an answer came back: the requests may never have reached Kask.
    this.pool.lost(this, calls, err, this.#reused && this.#buf.length === 0);
  }

  #parse(): void {
    const buf = this.#buf;
    if (this.#bodyAt === -1) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buf.length > MAX_HEAD_BYTES) this.#fail(new PoolError('protocol', 'answer head too large'));
        return;
      }
      if (!this.#head(buf.toString('latin1', 0, end))) return;
      if (this.#status < 200) {
        // 100 Continue and other interim answers: skip, the real one follows.
        this.#buf = buf.subarray(end + 4);
        this.#bodyAt = -1;
        if (this.#buf.length > 0) this.#parse();
        return;
      }
      this.#bodyAt = end + 4;
    }
    const at = this.#bodyAt;
    if (this.#chunked) {
      const body = dechunk(buf, at);
      if (body === null) return;
      if (body === 'bad') return void this.#fail(new PoolError('protocol', 'malformed chunked answer'));
      return void this.#complete(body.bytes, body.end);
    }
    if (this.#length === -1) return; // framed by the end of the connection
    if (buf.length < at + this.#length) return;
    this.#complete(buf.subarray(at, at + this.#length), at + this.#length);
  }

  /** Reads the status line and the framing headers; false (and the connection failed) when unusable. */
  #head(head: string): boolean {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (m === null) {
      this.#fail(new PoolError('protocol', 'not an HTTP/1.1 answer'));
      return false;
    }
    this.#status = Number(m[1]);
    // Header names are case-insensitive, and so are the values read here: one lower-cased copy, three searches.
    const lower = head.toLowerCase();
    const lengths = headerValues(lower, '\r\ncontent-length:');
    const length = lengths[0];
    // Differing lengths could frame the next pipelined answer wrongly (RFC 9112 §6.3): refuse them.
    if (length !== undefined && (!/^\d+$/.test(length) || lengths.some((l) => l !== length))) {
      this.#fail(new PoolError('protocol', 'bad Content-Length'));
      return false;
    }
    this.#length = length === undefined ? -1 : Number(length);
    // Repeated headers are one comma-separated list.
    this.#chunked = headerValues(lower, '\r\ntransfer-encoding:').join(',').includes('chunked');
    const connection = headerValues(lower, '\r\nconnection:');
    this.#close =
      connection.length === 0 ? lower.startsWith('http/1.0') : connection.join(',').includes('close');
    if (this.#status === 204 || this.#status === 304 || this.#calls[0]?.method === 'HEAD') this.#length = 0;
    return true;
  }

  #complete(body: Buffer, end: number): void {
    const call = this.#calls.shift()!;
    const status = this.#status;
    // Bytes after the answer: the next pipelined answer, or (with nothing else in flight) a broken server.
    const rest = this.#buf.subarray(end);
    // A copy: the answer's bytes outlive this read buffer (values are kept by the phases).
    const bytes = body.length === 0 ? EMPTY : Buffer.from(body);
    this.#buf = rest.length === 0 ? EMPTY : rest;
    this.#bodyAt = -1;
    this.#reused = true;
    this.#since = performance.now();
    if (this.#close || (rest.length > 0 && this.#calls.length === 0)) {
      // Calls pipelined behind a closing answer were not served (a server reads nothing after it).
      this.#gone = true;
      this.socket.destroy();
      const behind = this.#calls.splice(0);
      this.pool.lost(this, behind, new PoolError('connection', 'closed after the answer'), true);
    } else this.pool.released(this);
    call.callback(null, status, bytes);
    if (!this.#gone && this.#buf.length > 0 && this.#calls.length > 0) this.#parse();
  }
}

/** The trimmed values of every header line starting with `prefix` (CRLF, name, colon), in order. */
function headerValues(head: string, prefix: string): string[] {
  const values: string[] = [];
  for (let at = head.indexOf(prefix); at !== -1; at = head.indexOf(prefix, at + prefix.length)) {
    const end = head.indexOf('\r\n', at + prefix.length);
    values.push(head.slice(at + prefix.length, end === -1 ? head.length : end).trim());
  }
  return values;
}

/** The de-chunked body starting at `at`, null while incomplete, 'bad' when malformed. */
function dechunk(buf: Buffer, at: number): { bytes: Buffer; end: number } | null | 'bad' {
  const parts: Buffer[] = [];
  let pos = at;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd === -1) return null;
    const sizeText = buf.toString('latin1', pos, lineEnd).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return 'bad';
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) {
      // Trailers (none expected) end with an empty line.
      const end = buf.indexOf('\r\n\r\n', lineEnd);
      if (end === -1) return null;
      return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts), end: end + 4 };
    }
    if (buf.length < lineEnd + 2 + size + 2) return null;
    parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
}
