// One client connection on the fast path: requests are parsed from the raw bytes and answered one at a time, in
// order (as Go's server does). The first request the fast path does not take hands the whole connection, with the
// bytes already read, to node:http, after the answers before it have gone out.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '../../ops/logging.js';
import type { Metrics } from '../../ops/metrics.js';
import type { Phase, ReadOutcome, RequestMeta, WriteOutcome } from '../../phases/phase.js';
import { type FastRequest, type HeadLimits, parseRequestHead } from './request-head.js';
import {
  CHUNKED_TAIL,
  createdAnswer,
  isChunked,
  noContentAnswer,
  problemAnswer,
  valueHead,
} from './responses.js';

/** What every connection of one listener shares. */
export interface FastPathContext {
  limits: HeadLimits;
  currentPhase: () => Phase;
  metrics: Metrics | null;
  inFlight?: { enter(): void; leave(): void };
  logger?: Logger;
  /** False once the listener stops accepting (drain): answers then close their connection, as node:http's do. */
  keepAlive: () => boolean;
  /** Gives the socket to node:http; `pending` (bytes read but not consumed) are fed to it first. */
  handOff: (socket: Socket, pending: Buffer | null, ended: boolean) => void;
  forget: (conn: FastConnection) => void;
}

/** Past this many unconsumed bytes while a request is answered, stop reading (the client is far ahead of us). */
const MAX_BUFFERED_BYTES = 1 << 20;

export class FastConnection {
  /** Bytes read and not consumed yet (null = none). */
  #pending: Buffer | null = null;
  /** Chunks read after #pending, not yet joined to it (a body arriving in pieces is joined once, when whole). */
  #later: Buffer[] = [];
  #laterBytes = 0;
  /** #pending must hold this many bytes before parsing again is worth it (the rest of a known-length body). */
  #waitFor = 0;
  /** A request is being answered; later bytes wait. */
  #busy = false;
  #ended = false;
  #gone = false;
  /** performance.now() when the connection became idle, or when an incomplete request started arriving. */
  since = performance.now();

  // The request being answered (one at a time, so fields instead of a per-request object or closure).
  #method: FastRequest['method'] = 'GET';
  #path: Buffer = Buffer.alloc(0);
  #close = false;
  #phase: Phase | null = null;
  #meta: RequestMeta | null = null;
  #started = 0;

  constructor(
    readonly socket: Socket,
    readonly ctx: FastPathContext,
  ) {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /** Idle: nothing being answered and nothing buffered (safe to close). */
  get idle(): boolean {
    return !this.#busy && this.#pending === null;
  }

  /** Mid-request from the client's side: part of a request buffered, waiting for the rest. */
  get partial(): boolean {
    return !this.#busy && this.#pending !== null;
  }

  get busy(): boolean {
    return this.#busy;
  }

  destroy(): void {
    this.socket.destroy();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#pending === null) {
      this.#pending = chunk;
      this.since = performance.now();
    } else {
      this.#later.push(chunk);
      this.#laterBytes += chunk.length;
      if (this.#busy) {
        if (this.#pending.length + this.#laterBytes > MAX_BUFFERED_BYTES) this.socket.pause();
        return;
      }
      if (this.#pending.length + this.#laterBytes < this.#waitFor) return;
    }
    if (!this.#busy) this.#next();
  };

  /** Everything buffered, as one buffer. */
  #joined(): Buffer | null {
    if (this.#laterBytes === 0 || this.#pending === null) return this.#pending;
    this.#pending = Buffer.concat([this.#pending, ...this.#later]);
    this.#later = [];
    this.#laterBytes = 0;
    return this.#pending;
  }

  readonly #onEnd = (): void => {
    this.#ended = true;
    if (!this.#busy) this.#next();
  };

  readonly #onError = (): void => {
    this.socket.destroy();
  };

  readonly #onClose = (): void => {
    this.#gone = true;
    this.#pending = null;
    this.#later = [];
    this.ctx.forget(this);
  };

  /** Takes the next buffered request, if whole; at the end of the client's input, closes. */
  #next(): void {
    const pending = this.#joined();
    if (pending === null) {
      if (this.#ended) this.socket.end();
      else this.since = performance.now();
      return;
    }
    const head = parseRequestHead(pending, 0, this.ctx.limits);
    if (head.kind === 'other') {
      this.#handOff();
      return;
    }
    const total = head.kind === 'request' ? head.headBytes + head.contentLength : 0;
    if (head.kind === 'incomplete' || pending.length < total) {
      this.#waitFor = total;
      this.#incomplete();
      return;
    }
    this.#waitFor = 0;
    this.#pending = pending.length === total ? null : pending.subarray(total);
    if (this.socket.isPaused()) this.socket.resume();
    this.#start(head, pending, head.headBytes);
  }

  #incomplete(): void {
    // A client that ended mid-request never completes it: close, as node:http does.
    if (this.#ended) this.socket.destroy();
    else if (this.socket.isPaused()) this.socket.resume();
  }

  #handOff(): void {
    const { socket } = this;
    socket
      .off('data', this.#onData)
      .off('end', this.#onEnd)
      .off('error', this.#onError)
      .off('close', this.#onClose);
    this.ctx.forget(this);
    const pending = this.#joined();
    this.#pending = null;
    this.ctx.handOff(socket, pending, this.#ended);
  }

  #start(req: FastRequest, buf: Buffer, bodyAt: number): void {
    const ctx = this.ctx;
    this.#busy = true;
    this.#started = performance.now();
    this.#method = req.method;
    this.#path = req.path;
    this.#close = req.close;
    const phase = ctx.currentPhase();
    this.#phase = phase;
    const meta = requestMeta(req);
    this.#meta = meta;
    ctx.inFlight?.enter();
    if (req.method === 'GET') phase.get(req.key, meta).then(this.#onRead, this.#onBug);
    else if (req.method === 'POST') {
      // A copy: the phase may keep the value (backfill, repair) and must not pin the whole read buffer.
      const value = Buffer.from(buf.subarray(bodyAt, bodyAt + req.contentLength));
      phase.set(req.key, value, meta).then(this.#onWrite, this.#onBug);
    } else phase.delete(req.key, meta).then(this.#onWrite, this.#onBug);
  }

  readonly #onRead = (outcome: ReadOutcome): void => {
    if (this.#gone) {
      this.#done(0);
      return;
    }
    const close = this.#closing();
    if (outcome.kind === 'hit') {
      const value = outcome.value;
      // One latin1 string (bytes map 1:1) is one write: cheaper than corking a head and a buffer into a writev.
      const tail = isChunked(value.length) ? CHUNKED_TAIL : '';
      this.socket.write(valueHead(value.length, close) + value.toString('latin1') + tail, 'latin1');
      this.#done(200);
      return;
    }
    const name = outcome.kind === 'miss' ? 'notFound' : 'serverError';
    this.socket.write(problemAnswer(name, this.#path, close));
    this.#done(outcome.kind === 'miss' ? 404 : 500);
  };

  readonly #onWrite = (outcome: WriteOutcome): void => {
    if (this.#gone) {
      this.#done(0);
      return;
    }
    const close = this.#closing();
    if (outcome.kind === 'error') {
      this.socket.write(problemAnswer('serverError', this.#path, close));
      this.#done(500);
      return;
    }
    const post = this.#method === 'POST';
    this.socket.write(post ? createdAnswer(close) : noContentAnswer(close), 'latin1');
    this.#done(post ? 201 : 204);
  };

  /** Outcomes are values; reaching here is a bug. Answer like Kask would for a storage error, never crash. */
  readonly #onBug = (): void => {
    this.#onRead({ kind: 'error' });
  };

  #closing(): boolean {
    this.#close ||= !this.ctx.keepAlive();
    return this.#close;
  }

  /** Bookkeeping after an answer (status 0: the client had gone, nothing was sent), then the next request. */
  #done(status: number): void {
    const ctx = this.ctx;
    this.#busy = false;
    ctx.inFlight?.leave();
    const phase = this.#phase!;
    if (status !== 0 && (ctx.metrics || ctx.logger)) {
      const seconds = (performance.now() - this.#started) / 1000;
      ctx.metrics?.recordRequest(String(status), this.#method, phase.name, seconds);
      if (ctx.logger?.isLevelEnabled('debug')) this.#log(status, seconds);
    }
    this.#phase = null;
    this.#meta = null;
    if (status === 0) return;
    if (this.#close) {
      this.#pending = null;
      this.#later = [];
      this.#laterBytes = 0;
      this.socket.end();
      return;
    }
    // A request already partly buffered behind this one gets its full request timeout from now.
    this.since = performance.now();
    this.#next();
  }

  /** The debug access line: keys may appear (in the path), values never. */
  #log(status: number, seconds: number): void {
    this.ctx.logger?.debug(
      {
        'event.action': 'request',
        'trace.id': this.#meta?.requestId,
        'http.request.method': this.#method,
        'url.path': this.#path.subarray(0, 512).toString('latin1'),
        'http.response.status_code': status,
        'event.duration': Math.round(seconds * 1e9),
        'kmp.phase': this.#phase?.name,
      },
      'request',
    );
  }
}

function requestMeta(req: FastRequest): RequestMeta {
  const requestId = req.requestId !== null && req.requestId !== '' ? req.requestId : randomUUID();
  const forward: Record<string, string> = { 'x-request-id': requestId };
  if (req.traceparent !== null) forward.traceparent = req.traceparent;
  if (req.tracestate !== null) forward.tracestate = req.tracestate;
  return { requestId, forward };
}
