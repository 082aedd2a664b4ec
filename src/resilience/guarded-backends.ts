// Kask and Redis behind their circuit breakers: what the phases and the repairer call. Every failure leaves as the
// backend's typed error (stable code), whichever layer raised it.
import type { Cluster, Redis } from 'ioredis';
import { BackendError, type KaskRead } from '../kask/client.js';
import type { KaskApi, RedisApi } from '../phases/dual-stores.js';
import { RedisError, type RedisStore, toRedisError } from '../redis/store.js';
import type { Breaker } from './breaker.js';

export class GuardedKask implements KaskApi {
  constructor(
    readonly inner: KaskApi,
    readonly breaker: Breaker,
  ) {}

  async get(key: Buffer, forward: Record<string, string> = {}): Promise<KaskRead> {
    try {
      return await this.breaker.run(() => this.inner.get(key, forward));
    } catch (err) {
      throw asKaskError('GET', err);
    }
  }

  async set(key: Buffer, value: Buffer, forward: Record<string, string> = {}): Promise<void> {
    try {
      await this.breaker.run(() => this.inner.set(key, value, forward));
    } catch (err) {
      throw asKaskError('POST', err);
    }
  }

  async delete(key: Buffer, forward: Record<string, string> = {}): Promise<void> {
    try {
      await this.breaker.run(() => this.inner.delete(key, forward));
    } catch (err) {
      throw asKaskError('DELETE', err);
    }
  }
}

export class GuardedRedis implements RedisApi {
  constructor(
    readonly store: RedisStore,
    readonly breaker: Breaker,
  ) {}

  get(key: Buffer): Promise<Buffer | null> {
    return this.breaker.run(() => this.store.get(key));
  }

  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<void> {
    return this.breaker.run(() => this.store.set(key, value, ttlSeconds));
  }

  delete(key: Buffer): Promise<void> {
    return this.breaker.run(() => this.store.delete(key));
  }

  /** Any other command (the repair queue's scripts): same breaker, same command timeout, errors as RedisError. */
  command<T>(name: string, call: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    return this.breaker.run(async () => {
      try {
        return await call(this.store.client);
      } catch (err) {
        throw asRedisError(name, err);
      }
    });
  }
}

/** Body-read failures and aborts surface from undici untyped; give them Kask's codes. */
export function asKaskError(method: string, err: unknown): BackendError {
  if (err instanceof BackendError) return err;
  const name = err instanceof Error ? err.name : '';
  const timeout = name === 'TimeoutError' || name === 'BodyTimeoutError' || name === 'HeadersTimeoutError';
  const message = err instanceof Error ? err.message : String(err);
  return new BackendError(
    timeout ? 'KASK_TIMEOUT' : 'KASK_UNAVAILABLE',
    `Kask ${method} failed: ${message}`,
    undefined,
    {
      cause: err,
    },
  );
}

export function asRedisError(command: string, err: unknown): RedisError {
  return err instanceof RedisError ? err : toRedisError(command, err);
}
