// Redis as RedisBagOStuff uses it: GET, SETEX/SET, DEL on byte keys (plus an optional prefix), standalone or Cluster.
// Commands fail fast instead of queueing: MediaWiki gives up after 3 s, so a stalled Redis must cost little.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { reconnectDelayMs } from './reconnect.js';
import { RespCommandError, RespConnection, respSettingsFromUrl } from './resp-connection.js';

export interface RedisStoreOptions {
  url: string;
  clusterNodes: string[];
  keyPrefix: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /**
   * Commands issued in the same tick share one write (ioredis auto-pipelining): worth it for the bulk tools, which
   * issue many at once; the sidecar issues one per request per turn, where it only adds a pipeline per command.
   */
  autoPipelining?: boolean;
  /** Told the outcome and start time (performance.now()) of every command: feeds the backend latency histogram. */
  onCall?: (op: RedisOp, outcome: 'ok' | 'error' | 'timeout', startedMs: number) => void;
}

export type RedisOp = 'get' | 'set' | 'delete' | 'ping';
const COMMAND_OPS: Record<string, RedisOp> = { GET: 'get', SET: 'set', DEL: 'delete', PING: 'ping' };

/** `REDIS_OPEN`: the circuit breaker refused the call (src/resilience/breakers.ts). */
export type RedisErrorCode = 'REDIS_UNAVAILABLE' | 'REDIS_TIMEOUT' | 'REDIS_REPLY' | 'REDIS_OPEN';

/** A Redis call that failed; branch on `code`. */
export class RedisError extends Error {
  override readonly name = 'RedisError';
  constructor(
    readonly code: RedisErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class RedisStore {
  /** Everything but GET/SET/DEL/MGET, and those too on a Cluster or a URL only ioredis understands. */
  readonly client: Redis | Cluster;
  /** The lean connection for GET/SET/DEL (and the bulk tools' MGET) on a standalone Redis (resp-connection.ts). */
  readonly #lean: RespConnection | null;
  readonly #prefix: Buffer;
  readonly #onCall: NonNullable<RedisStoreOptions['onCall']>;

  constructor(opts: RedisStoreOptions) {
    this.#onCall = opts.onCall ?? (() => {});
    this.#prefix = Buffer.from(opts.keyPrefix, 'utf8');
    const common: RedisOptions = {
      connectTimeout: opts.connectTimeoutMs,
      commandTimeout: opts.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: reconnectDelayMs,
      lazyConnect: true,
      enableAutoPipelining: opts.autoPipelining ?? false,
    };
    if (opts.clusterNodes.length > 0) {
      const auth = new URL(opts.url === 'embedded' ? 'redis://localhost' : opts.url);
      this.client = new Cluster(
        opts.clusterNodes.map((node) => {
          const [host, port] = node.split(':');
          return { host, port: Number(port ?? 6379) };
        }),
        {
          enableOfflineQueue: false,
          enableAutoPipelining: opts.autoPipelining ?? false,
          lazyConnect: true,
          clusterRetryStrategy: common.retryStrategy,
          redisOptions: {
            ...common,
            username: auth.username || undefined,
            password: decodeURIComponent(auth.password) || undefined,
            tls: auth.protocol === 'rediss:' ? {} : undefined,
          },
        },
      );
      this.#lean = null;
    } else {
      this.client = new Redis(opts.url, common);
      const lean = respSettingsFromUrl(opts.url, {
        connectTimeoutMs: opts.connectTimeoutMs,
        commandTimeoutMs: opts.commandTimeoutMs,
      });
      this.#lean = lean === null ? null : new RespConnection(lean);
    }
    // Connection errors surface through commands and readiness; without a listener ioredis would print them.
    this.client.on('error', () => {});
  }

  /** Connects, waiting at most the connect timeout; a Redis that is down now is retried in the background. */
  async connect(): Promise<boolean> {
    const lean = this.#lean?.connect() ?? Promise.resolve(true);
    const main = this.client.connect().then(
      () => true,
      () => false,
    );
    const [a, b] = await Promise.all([lean, main]);
    return a && b;
  }

  key(key: Buffer): Buffer {
    return this.#prefix.length === 0 ? key : Buffer.concat([this.#prefix, key]);
  }

  async get(key: Buffer): Promise<Buffer | null> {
    const lean = this.#lean;
    if (lean !== null) return this.#run('GET', () => lean.get(this.key(key)));
    return this.#run('GET', () => this.client.getBuffer(this.key(key)));
  }

  /**
   * Several GETs in one round trip, for bulk tools: one MGET on a standalone Redis; on a Cluster (where one MGET
   * cannot span slots) one GET each, which auto-pipelining sends per node. Either way a key holding something other
   * than a string reads as absent, as MGET answers it.
   */
  async getMany(keys: readonly Buffer[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    if (this.client instanceof Cluster)
      return Promise.all(keys.map((key) => this.get(key).catch(nullIfWrongType)));
    const lean = this.#lean;
    if (lean !== null) return this.#run('GET', () => lean.mget(keys.map((key) => this.key(key))));
    const client = this.client;
    return this.#run('GET', () => client.mgetBuffer(keys.map((key) => this.key(key))));
  }

  /** RedisBagOStuff's set: SETEX with a TTL, plain SET when the TTL is 0 (no expiry). */
  async set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<void> {
    const lean = this.#lean;
    if (lean !== null) return this.#run('SET', () => lean.set(this.key(key), value, ttlSeconds));
    await this.#run('SET', () =>
      ttlSeconds > 0
        ? this.client.setex(this.key(key), ttlSeconds, value)
        : this.client.set(this.key(key), value),
    );
  }

  async delete(key: Buffer): Promise<void> {
    const lean = this.#lean;
    if (lean !== null) return this.#run('DEL', () => lean.del(this.key(key)));
    await this.#run('DEL', () => this.client.del(this.key(key)));
  }

  async ping(): Promise<void> {
    const lean = this.#lean;
    await this.#run('PING', () => Promise.all([this.client.ping(), lean?.ping()]));
  }

  /**
   * False when this Redis is a read-only replica (ROLE says `slave`): every write would fail with READONLY. A Cluster
   * routes writes to masters itself, so it counts as writable.
   */
  async writable(): Promise<boolean> {
    if (this.client instanceof Cluster) return true;
    const [role] = (await this.#run('PING', () => this.client.role())) as [string, ...unknown[]];
    return role === 'master';
  }

  get ready(): boolean {
    return this.client.status === 'ready' && (this.#lean?.ready ?? true);
  }

  /** The connections' states, for readiness messages (ioredis's status words). */
  get status(): string {
    const lean = this.#lean;
    return lean === null || lean.status === this.client.status
      ? this.client.status
      : `${this.client.status}, data path ${lean.status}`;
  }

  async close(): Promise<void> {
    this.#lean?.close();
    this.client.disconnect();
  }

  async #run<T>(command: 'GET' | 'SET' | 'DEL' | 'PING', call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.#onCall(COMMAND_OPS[command]!, 'ok', started);
      return result;
    } catch (err) {
      const failure = toRedisError(command, err);
      this.#onCall(COMMAND_OPS[command]!, failure.code === 'REDIS_TIMEOUT' ? 'timeout' : 'error', started);
      throw failure;
    }
  }
}

/**
 * A GET of a key holding a list, hash… fails with Redis's WRONGTYPE error reply (its first word is the code): for the
 * bulk tools such a key is absent, as MGET answers it. Any other failure is rethrown.
 */
export function nullIfWrongType(err: unknown): null {
  if (err instanceof RedisError && err.code === 'REDIS_REPLY' && /\bWRONGTYPE\b/.test(err.message))
    return null;
  throw err;
}

/**
 * The one mapping from a failed Redis call to Redis's typed error, used here, by the bulk tools' scans and by the
 * guarded wrapper (src/resilience/guarded-backends.ts): a typed error passes through. ioredis reports a command
 * timeout only in its message ("Command timed out"): the one place we match on text.
 */
export function toRedisError(command: string, err: unknown): RedisError {
  if (err instanceof RedisError) return err;
  if (err instanceof RespCommandError) {
    if (err.kind === 'reply')
      return new RedisError('REDIS_REPLY', `Redis ${command}: ${err.message}`, { cause: err });
    if (err.kind === 'timeout')
      return new RedisError('REDIS_TIMEOUT', `Redis ${command} timed out`, { cause: err });
    return new RedisError('REDIS_UNAVAILABLE', `Redis ${command} failed: ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(message))
    return new RedisError('REDIS_TIMEOUT', `Redis ${command} timed out`, { cause: err });
  if (err instanceof Error && err.name === 'ReplyError')
    return new RedisError('REDIS_REPLY', `Redis ${command}: ${message}`, { cause: err });
  return new RedisError('REDIS_UNAVAILABLE', `Redis ${command} failed: ${message}`, { cause: err });
}
