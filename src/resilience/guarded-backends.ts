// Kask and Redis behind their circuit breakers: what the phases and the repairer call. Every failure leaves as the
// backend's typed error (stable code), whichever layer raised it, mapped by the backend's own module.
import type { Cluster, Redis } from 'ioredis';
import { type KaskRead, toKaskError } from '../kask/client.js';
import type { KaskApi, RedisApi } from '../phases/dual-stores.js';
import { type RedisStore, toRedisError } from '../redis/store.js';
import type { Breaker } from './breaker.js';

export class GuardedKask implements KaskApi {
  constructor(
    readonly inner: KaskApi,
    readonly breaker: Breaker,
  ) {}

  get(key: Buffer, forward: Record<string, string> = {}): Promise<KaskRead> {
    return this.#run('GET', () => this.inner.get(key, forward));
  }

  set(key: Buffer, value: Buffer, forward: Record<string, string> = {}): Promise<void> {
    return this.#run('POST', () => this.inner.set(key, value, forward));
  }

  delete(key: Buffer, forward: Record<string, string> = {}): Promise<void> {
    return this.#run('DELETE', () => this.inner.delete(key, forward));
  }

  async #run<T>(method: string, call: () => Promise<T>): Promise<T> {
    try {
      return await this.breaker.run(call);
    } catch (err) {
      throw toKaskError(method, err);
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
        throw toRedisError(name, err);
      }
    });
  }
}
