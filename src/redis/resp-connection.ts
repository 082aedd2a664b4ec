// The sidecar's lean path to a standalone Redis for the three commands of its data path (GET, SET/SETEX, DEL): one
// pipelined connection, replies matched in order, no per-command timer. ioredis stays for everything else (scripts,
// scans, Cluster); on the request path its command objects, per-command timers and promise plumbing cost more than
// the round trip itself (docs/hot-path.md). Behaves as the ioredis client did: commands fail fast while the
// connection is down (no offline queue), it reconnects in the background with backoff, and every command ends by
// its deadline.
import net from 'node:net';
import tls from 'node:tls';
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

/** Deadlines share 25 ms slots checked by one sweep (as the Kask pool's, docs/decisions/0004). */
const SWEEP_MS = 25;

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
  #closed = false;
  #attempts = 0;
  #sweep: NodeJS.Timeout | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #onFirstAttempt: ((ok: boolean) => void) | null = null;

  constructor(opts: RespConnectionOptions) {
    this.#opts = opts;
  }

  /** Connects, waiting at most the connect timeout; a Redis that is down now is retried in the background. */
  connect(): Promise<boolean> {
    if (this.#ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#onFirstAttempt = resolve;
      if (this.#socket === null && this.#reconnect === null) this.#open();
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  get status(): string {
    if (this.#closed) return 'end';
    return this.#ready ? 'ready' : this.#socket !== null ? 'connecting' : 'reconnecting';
  }

  get(key: Buffer): Promise<Buffer | null> {
    return this.#send(frame(['GET'], [key])) as Promise<Buffer | null>;
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

  close(): void {
    this.#closed = true;
    if (this.#reconnect !== null) clearTimeout(this.#reconnect);
    this.#reconnect = null;
    this.#socket?.destroy();
  }

  #send(bytes: Buffer): Promise<RespValue> {
    const socket = this.#socket;
    if (!this.#ready || socket === null)
      return Promise.reject(new RespCommandError('connection', 'Redis connection is not ready', false));
    return new Promise((resolve, reject) => {
      this.#pending.push({
        resolve,
        reject,
        deadline: deadlineFor(this.#opts.commandTimeoutMs),
        done: false,
      });
      socket.write(bytes);
      this.#watch();
    });
  }

  #open(): void {
    const o = this.#opts;
    const socket = o.tls
      ? tls.connect({ host: o.host, port: o.port, servername: net.isIP(o.host) ? undefined : o.host })
      : net.connect({ host: o.host, port: o.port });
    this.#socket = socket;
    this.#reader = new RespReader();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const connectTimer = setTimeout(() => socket.destroy(), o.connectTimeoutMs);
    socket.once(o.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      this.#handshake(socket);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', () => {}); // 'close' follows and says what matters
    socket.once('close', () => {
      clearTimeout(connectTimer);
      this.#onClose(socket);
    });
  }

  /** AUTH and SELECT, then ready. Their replies take the first places in the queue, before any command. */
  #handshake(socket: net.Socket): void {
    const o = this.#opts;
    const steps: Buffer[] = [];
    if (o.password !== undefined)
      steps.push(
        frame(o.username !== undefined ? ['AUTH', o.username, o.password] : ['AUTH', o.password], []),
      );
    if (o.db !== 0) steps.push(frame(['SELECT', String(o.db)], []));
    let left = steps.length;
    if (left === 0) {
      this.#becomeReady();
      return;
    }
    for (const step of steps) {
      this.#pending.push({
        resolve: () => {
          if (--left === 0 && this.#socket === socket) this.#becomeReady();
        },
        // A refused AUTH or SELECT: close and retry later (as ioredis does), never send commands unauthenticated.
        reject: () => socket.destroy(),
        deadline: deadlineFor(o.connectTimeoutMs),
        done: false,
      });
      socket.write(step);
    }
    this.#watch();
  }

  #becomeReady(): void {
    this.#ready = true;
    this.#attempts = 0;
    this.#settleFirstAttempt(true);
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
        socket.destroy();
        return;
      }
      if (reply === INCOMPLETE) return;
      const waiting = this.#pending[this.#head];
      if (waiting === undefined) {
        socket.destroy(); // a reply nobody asked for: the stream is out of step
        return;
      }
      this.#shift();
      if (waiting.done) continue;
      waiting.done = true;
      if (reply instanceof RespErrorReply) waiting.reject(new RespCommandError('reply', reply.message, true));
      else waiting.resolve(reply);
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
    this.#settleFirstAttempt(false);
    if (this.#closed) return;
    const delay = Math.min(50 * 2 ** Math.min(this.#attempts++, 6), 2_000);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      if (!this.#closed) this.#open();
    }, delay);
    this.#reconnect.unref();
  }

  #settleFirstAttempt(ok: boolean): void {
    const settle = this.#onFirstAttempt;
    this.#onFirstAttempt = null;
    settle?.(ok);
  }

  /** Keeps the sweep running while anything waits for a reply. */
  #watch(): void {
    if (this.#sweep !== null) return;
    this.#sweep = setInterval(() => this.#check(), SWEEP_MS);
    this.#sweep.unref();
  }

  /** Fails commands past their deadline; their replies keep their places in the queue and are dropped on arrival. */
  #check(): void {
    const now = performance.now();
    for (let i = this.#head; i < this.#pending.length; i++) {
      const p = this.#pending[i]!;
      if (p.deadline > now) break; // deadlines only grow along the queue (handshake steps come first)
      if (p.done) continue;
      p.done = true;
      p.reject(new RespCommandError('timeout', 'Redis command timed out', true));
    }
    if (this.#head === this.#pending.length && this.#sweep !== null) {
      clearInterval(this.#sweep);
      this.#sweep = null;
    }
  }
}

function deadlineFor(timeoutMs: number): number {
  return (Math.floor(performance.now() / SWEEP_MS) + 1) * SWEEP_MS + timeoutMs;
}

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
