// The lean path to a standalone Redis for the data path's commands (GET, SET/SETEX, DEL; and MGET for the bulk
// tools' batch reads): one pipelined connection, replies matched in order, no per-command timer. ioredis stays for
// everything else (scripts, scans, Cluster); on the request path its command objects, per-command timers and promise
// plumbing cost more than the round trip itself (docs/decisions/0011). Behaves as the ioredis client did: commands
// fail fast while the connection is down (no offline queue), it reconnects in the background with backoff, and every
// command ends by its deadline.
import net from 'node:net';
import tls from 'node:tls';
import { SWEEP_MS, slotDeadline } from '../net/slot-deadline.js';
import { reconnectDelayMs } from './reconnect.js';
import { INCOMPLETE, RespErrorReply, RespProtocolError, RespReader, type RespValue } from './resp-reader.js';

export interface RespConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/**
 * Why a command failed. `reply`: Redis answered with an error (nothing applied). `timeout`: no answer by the
 * deadline. `connection`: not connected (`sent` false: never reached Redis) or lost with the command in flight
 * (`sent` true: its outcome is unknown).
 */
export class RespCommandError extends Error {
  override readonly name = 'RespCommandError';
  constructor(
    readonly kind: 'reply' | 'timeout' | 'connection',
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (value: RespValue) => void;
  reject: (err: RespCommandError) => void;
  deadline: number;
  /** Already settled (timed out): its reply, when it comes, is only consumed. */
  done: boolean;
}

/** Settings for the lean path from a redis:// URL, or null when the URL says something only ioredis understands. */
export function respSettingsFromUrl(
  url: string,
  timeouts: { connectTimeoutMs: number; commandTimeoutMs: number },
): RespConnectionOptions | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return null;
  if (parsed.search !== '' || parsed.hash !== '' || parsed.hostname === '') return null;
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) return null;
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db: path === '' ? 0 : Number(path),
    tls: parsed.protocol === 'rediss:',
    ...timeouts,
  };
}

export class RespConnection {
  readonly #opts: RespConnectionOptions;
  #socket: net.Socket | null = null;
  #reader = new RespReader();
  #pending: Pending[] = [];
  #head = 0;
  #ready = false;
  #opened = false;
  #closed = false;
  #attempts = 0;
  /** Why the last connection ended or was refused (never secrets: Redis's reply or the socket error), for status. */
  #lastProblem: string | null = null;
  /** The connection `#lastProblem` belongs to: its first problem is the one that ended it. */
  #problemOf: net.Socket | null = null;
  #sweep: NodeJS.Timeout | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  /** The socket corked until the end of this turn of the event loop, if any. */
  #corked: net.Socket | null = null;
  readonly #uncork = (): void => {
    const socket = this.#corked;
    this.#corked = null;
    socket?.uncork();
  };
  /** connect() callers waiting for the outcome of the attempt under way. */
  #waiters: Array<(ok: boolean) => void> = [];

  constructor(opts: RespConnectionOptions) {
    this.#opts = opts;
  }

  /** Connects, waiting for one attempt (connect and handshake); a Redis that is down is retried in the background. */
  connect(): Promise<boolean> {
    if (this.#ready) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      if (this.#socket === null && this.#reconnect === null) this.#open();
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** ioredis's status words, for readiness messages; while not ready, with the last problem seen. */
  get status(): string {
    if (this.#closed) return 'end';
    if (this.#ready) return 'ready';
    if (!this.#opened) return 'wait';
    const word = this.#socket !== null ? 'connecting' : 'reconnecting';
    return this.#lastProblem === null ? word : `${word} (last: ${this.#lastProblem})`;
  }

  get(key: Buffer): Promise<Buffer | null> {
    return this.#send(frame(['GET'], [key])) as Promise<Buffer | null>;
  }

  /** Several GETs in one command (the bulk tools' batch reads): a key holding no string reads as null. */
  async mget(keys: readonly Buffer[]): Promise<(Buffer | null)[]> {
    const reply = await this.#send(frame(['MGET'], keys));
    if (!Array.isArray(reply) || reply.length !== keys.length)
      throw new RespCommandError('connection', 'MGET answered something other than one value per key', true);
    return reply as (Buffer | null)[];
  }

  /** SETEX with a TTL, plain SET when the TTL is 0 (no expiry), as RedisBagOStuff writes. */
  async set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<void> {
    await this.#send(
      ttlSeconds > 0
        ? frame(['SETEX'], [key, Buffer.from(String(ttlSeconds), 'latin1'), value])
        : frame(['SET'], [key, value]),
    );
  }

  async del(key: Buffer): Promise<void> {
    await this.#send(frame(['DEL'], [key]));
  }

  /** A round trip on this connection (readiness: the data path's own connection answers). */
  async ping(): Promise<void> {
    await this.#send(frame(['PING'], []));
  }

  close(): void {
    this.#closed = true;
    this.#ready = false;
    if (this.#reconnect !== null) clearTimeout(this.#reconnect);
    this.#reconnect = null;
    if (this.#socket !== null) this.#drop(this.#socket);
    this.#settleWaiters(false);
  }

  #send(bytes: Buffer): Promise<RespValue> {
    const socket = this.#socket;
    if (!this.#ready || socket === null)
      return Promise.reject(new RespCommandError('connection', 'Redis connection is not ready', false));
    return new Promise((resolve, reject) => {
      this.#pending.push({
        resolve,
        reject,
        deadline: slotDeadline(performance.now(), this.#opts.commandTimeoutMs),
        done: false,
      });
      socket.write(bytes);
      // The first command of a turn leaves at once; the ones after it in the same turn wait for its end and leave
      // together, one syscall instead of one each (a bulk copy's batches, a busy sidecar's requests).
      if (this.#corked === null) {
        this.#corked = socket;
        socket.cork();
        setImmediate(this.#uncork);
      }
      this.#watch();
    });
  }

  #open(): void {
    const o = this.#opts;
    this.#opened = true;
    // TLS options as ioredis passes them for rediss:// (nothing but host and port), so both connections look alike.
    const socket = o.tls
      ? tls.connect({ host: o.host, port: o.port })
      : net.connect({ host: o.host, port: o.port });
    this.#socket = socket;
    this.#reader = new RespReader();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const connectTimer = setTimeout(() => this.#drop(socket, 'connect timed out'), o.connectTimeoutMs);
    socket.once(o.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      this.#handshake(socket);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', (err: Error) => this.#noteProblem(socket, err.message)); // 'close' follows
    socket.once('close', () => {
      clearTimeout(connectTimer);
      this.#onClose(socket);
    });
  }

  /**
   * AUTH and SELECT as the URL says, then PING: ready only once Redis has answered a command, so a Redis that
   * accepts and refuses (max clients, loading its dataset, protected mode) is backed off from, as ioredis's ready
   * check did. Their replies take the first places in the queue, before any command.
   */
  #handshake(socket: net.Socket): void {
    const o = this.#opts;
    const steps: { bytes: Buffer; ignore?: RegExp }[] = [];
    if (o.username !== undefined) steps.push({ bytes: frame(['AUTH', o.username, o.password ?? ''], []) });
    else if (o.password !== undefined)
      // As ioredis: a password given to a Redis that has none is only worth a warning, not a refusal.
      steps.push({ bytes: frame(['AUTH', o.password], []), ignore: NO_PASSWORD_SET });
    if (o.db !== 0) steps.push({ bytes: frame(['SELECT', String(o.db)], []) });
    steps.push({ bytes: frame(['PING'], []) });
    const deadline = slotDeadline(performance.now(), o.connectTimeoutMs);
    let left = steps.length;
    const stepDone = (): void => {
      if (--left === 0 && this.#socket === socket && !this.#closed) this.#becomeReady();
    };
    for (const step of steps) {
      this.#pending.push({
        resolve: stepDone,
        reject: (err) => {
          if (err.kind === 'reply' && step.ignore?.test(err.message)) stepDone();
          // Refused (wrong password, loading, too many clients): close and retry later, never send unauthenticated.
          else this.#drop(socket, err.message);
        },
        deadline,
        done: false,
      });
      socket.write(step.bytes);
    }
    this.#watch();
  }

  #becomeReady(): void {
    this.#ready = true;
    this.#attempts = 0;
    this.#lastProblem = null;
    this.#settleWaiters(true);
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    if (this.#socket !== socket) return;
    this.#reader.feed(chunk);
    for (;;) {
      let reply: RespValue | typeof INCOMPLETE;
      try {
        reply = this.#reader.next();
      } catch (err) {
        if (!(err instanceof RespProtocolError)) throw err;
        this.#drop(socket, `not RESP: ${err.message}`);
        return;
      }
      if (reply === INCOMPLETE) return;
      const waiting = this.#pending[this.#head];
      if (waiting === undefined) {
        this.#drop(socket, 'a reply nobody asked for'); // the stream is out of step
        return;
      }
      this.#shift();
      if (waiting.done) continue;
      waiting.done = true;
      if (reply instanceof RespErrorReply) waiting.reject(new RespCommandError('reply', reply.message, true));
      else waiting.resolve(reply);
      if (this.#socket !== socket) return; // a handshake step gave up on this connection
    }
  }

  #shift(): void {
    this.#pending[this.#head++] = undefined as unknown as Pending;
    if (this.#head === this.#pending.length) {
      this.#pending = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Gives a connection up at once: not ready from this moment (later commands fail unsent), and reset, so that
   * commands still in Node's or the kernel's send buffer are discarded rather than reaching Redis late.
   */
  #drop(socket: net.Socket, why?: string): void {
    if (why !== undefined) this.#noteProblem(socket, why);
    if (this.#socket === socket) this.#ready = false;
    if (socket.destroyed) return;
    // A reset needs a connected TCP handle: a connect still under way (or TLS, whose bytes are already encrypted
    // into the TCP stream) is simply closed.
    if (socket.connecting || socket instanceof tls.TLSSocket) socket.destroy();
    else socket.resetAndDestroy();
  }

  #onClose(socket: net.Socket): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    this.#ready = false;
    const lost = this.#pending.slice(this.#head);
    this.#pending = [];
    this.#head = 0;
    for (const p of lost) {
      if (p.done) continue;
      p.done = true;
      p.reject(new RespCommandError('connection', 'Redis connection lost with the command in flight', true));
    }
    this.#settleWaiters(false);
    if (this.#closed) return;
    const delay = reconnectDelayMs(++this.#attempts);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      if (!this.#closed) this.#open();
    }, delay);
    this.#reconnect.unref();
  }

  /** The first problem of the current connection is the one that ended it; later ones only follow from it. */
  #noteProblem(socket: net.Socket, why: string): void {
    if (this.#socket !== socket || this.#problemOf === socket) return;
    this.#problemOf = socket;
    this.#lastProblem = why;
  }

  #settleWaiters(ok: boolean): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const settle of waiters) settle(ok);
  }

  /** Keeps the sweep running while anything waits for a reply. */
  #watch(): void {
    if (this.#sweep !== null) return;
    this.#sweep = setInterval(() => this.#check(), SWEEP_MS);
    this.#sweep.unref();
  }

  /**
   * A command past its deadline fails with a timeout and takes its connection down with it (as a Kask call does in
   * the pool): replies come in order, so everything behind it is late too, and a reset keeps what is still unsent
   * from reaching Redis later, where a write that MediaWiki was told failed could overwrite a newer one.
   */
  #check(): void {
    const first = this.#pending[this.#head];
    if (first === undefined) {
      if (this.#sweep !== null) clearInterval(this.#sweep);
      this.#sweep = null;
      return;
    }
    if (first.deadline > performance.now()) return; // deadlines only grow along the queue
    const socket = this.#socket;
    if (!first.done) {
      first.done = true;
      first.reject(new RespCommandError('timeout', 'Redis command timed out', true));
    }
    if (socket !== null) this.#drop(socket, 'a command timed out');
  }
}

/** The error a Redis without a password answers AUTH with (ioredis carries on after it, and so do we). */
const NO_PASSWORD_SET = /no password is set|without any password configured/i;

/** One command as a RESP array of bulk strings: text words first, then byte arguments, in one buffer. */
export function frame(words: readonly string[], args: readonly Buffer[]): Buffer {
  let head = `*${words.length + args.length}\r\n`;
  for (const w of words) head += `$${Buffer.byteLength(w, 'utf8')}\r\n${w}\r\n`;
  let size = Buffer.byteLength(head, 'utf8');
  // Each byte argument: `$<length>\r\n`, its bytes, `\r\n`.
  for (const a of args) size += String(a.length).length + 3 + a.length + 2;
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0, 'utf8');
  for (const a of args) {
    at += out.write(`$${a.length}\r\n`, at, 'latin1');
    at += a.copy(out, at);
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  return out;
}
