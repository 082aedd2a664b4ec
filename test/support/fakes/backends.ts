// Redis and Kask in memory, at the interfaces the phases call (RedisApi, KaskApi in src/phases/dual-stores.ts):
// byte-exact, answering at once, every call written to a journal the two can share, so a test can assert which
// store was called in which order. A test scripts interference per call: another writer getting in between, the
// clock moving on, or a failure (after the call took effect, for a timeout whose write landed). The errors are the
// typed ones the real clients throw, which the protocol simulation's stores throw too.
import { BackendError, type KaskRead } from '../../../src/kask/client.js';
import type { KaskApi, RedisApi } from '../../../src/phases/dual-stores.js';
import { RedisError } from '../../../src/redis/store.js';
import { ByteStore, keyName } from './byte-store.js';

/** Redis refused the command with an error reply (an ACL, READONLY, OOM): it was not applied. */
export const redisRefused = (what: string): RedisError =>
  new RedisError('REDIS_REPLY', `Redis ${what}: NOPERM this user has no permissions`);
/** Redis did not answer in time: the command may or may not have been applied. */
export const redisTimedOut = (what: string): RedisError =>
  new RedisError('REDIS_TIMEOUT', `Redis ${what} timed out`);
/** Kask answered 500: nothing applied. */
export const kaskFailed = (op: string): BackendError =>
  new BackendError('KASK_STATUS', `Kask answered ${op} with 500`, 500);
/** Kask did not answer by the deadline: a write may still land. */
export const kaskTimedOut = (op: string): BackendError =>
  new BackendError('KASK_TIMEOUT', `Kask ${op} timed out`);

export type StoreOp = 'get' | 'set' | 'delete';

/** What happens to one call besides the call itself. */
export interface Interference {
  /** Runs before the call takes effect: another writer getting in between, the clock moving on. */
  before?: () => void | Promise<void>;
  /** The call fails with this error… */
  error?: Error;
  /** …after taking effect (a timeout whose write landed); by default a failed call applied nothing. */
  applied?: boolean;
}

interface Planned extends Interference {
  op: StoreOp;
  key: string | null;
  left: number;
}

abstract class FakeBackend {
  readonly data = new ByteStore();
  readonly #planned: Planned[] = [];

  constructor(
    readonly name: 'redis' | 'kask',
    /** Every call as `<name>.<op> <key>`, in the order made; pass one array to two backends to see both. */
    readonly journal: string[] = [],
  ) {}

  /** The next `times` calls of `op` (on `key`, if given) meet `interference`. */
  when(op: StoreOp, interference: Interference, opts: { key?: Buffer | string; times?: number } = {}): this {
    const key = opts.key === undefined ? null : keyName(opts.key);
    this.#planned.push({ ...interference, op, key, left: opts.times ?? 1 });
    return this;
  }

  /** Every call of `op` from now on fails with `error`, applying nothing. */
  down(op: StoreOp, error: Error): this {
    return this.when(op, { error }, { times: Number.POSITIVE_INFINITY });
  }

  /** The calls made so far, optionally only those of `op`. */
  calls(op?: StoreOp): string[] {
    const prefix = `${this.name}.${op ?? ''}`;
    return this.journal.filter((c) => c.startsWith(prefix));
  }

  protected async call<T>(op: StoreOp, key: Buffer, apply: () => T): Promise<T> {
    const k = keyName(key);
    this.journal.push(`${this.name}.${op} ${k}`);
    const plan = this.#planned.find((p) => p.op === op && (p.key === null || p.key === k));
    if (plan && --plan.left <= 0) this.#planned.splice(this.#planned.indexOf(plan), 1);
    await plan?.before?.();
    if (!plan?.error) return apply();
    if (plan.applied) apply();
    throw plan.error;
  }
}

export class FakeRedis extends FakeBackend implements RedisApi {
  /** The TTL of each key's last SETEX, in seconds. */
  readonly ttls = new Map<string, number>();

  constructor(journal?: string[]) {
    super('redis', journal);
  }

  get(key: Buffer): Promise<Buffer | null> {
    return this.call('get', key, () => this.data.get(key));
  }

  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<void> {
    const copy = Buffer.from(value);
    return this.call('set', key, () => {
      this.data.set(key, copy);
      this.ttls.set(keyName(key), ttlSeconds);
    });
  }

  delete(key: Buffer): Promise<void> {
    return this.call('delete', key, () => this.data.delete(key));
  }
}

export class FakeKask extends FakeBackend implements KaskApi {
  constructor(journal?: string[]) {
    super('kask', journal);
  }

  get(key: Buffer, _forward?: Record<string, string>): Promise<KaskRead> {
    return this.call('get', key, (): KaskRead => {
      const value = this.data.get(key);
      return value ? { kind: 'hit', value } : { kind: 'miss' };
    });
  }

  set(key: Buffer, value: Buffer, _forward?: Record<string, string>): Promise<void> {
    const copy = Buffer.from(value);
    return this.call('set', key, () => this.data.set(key, copy));
  }

  delete(key: Buffer, _forward?: Record<string, string>): Promise<void> {
    return this.call('delete', key, () => this.data.delete(key));
  }
}
