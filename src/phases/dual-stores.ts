// What the dual phases (dual-write, migration) and the bulk tools share: both stores, the value settings, and
// where work that must not be lost is reported.
import type { EnvelopeSettings } from '../codec/envelope.js';
import type { KaskClient } from '../kask/client.js';
import type { RedisStore } from '../redis/store.js';
import type { PhaseObserver } from './observer.js';

/** The Kask calls the phases make: the client itself, or the client behind its circuit breaker. */
export type KaskApi = Pick<KaskClient, 'get' | 'set' | 'delete'>;
/** The Redis calls the phases make: the store itself, or the store behind its circuit breaker. */
export type RedisApi = Pick<RedisStore, 'get' | 'set' | 'delete'>;

/**
 * Keys one store may hold wrong and that must be re-driven later (SPEC §5); durable in production
 * (src/resilience/repair-queue.ts). `redis_*`: a write Kask acknowledged whose Redis half failed, so Redis is
 * behind; every other reason: Kask may be behind Redis.
 */
export interface RepairSink {
  record(key: Buffer, reason: RepairReason): void;
  /**
   * True while the key's Redis copy is known to be behind Kask (a `redis_*` repair is pending): reading it from
   * Redis could resurrect a delete or serve an older value. Sinks that cannot tell leave it out.
   */
  redisBehind?(key: Buffer): boolean | Promise<boolean>;
}
export type RepairReason =
  | 'kask_write_failed'
  | 'kask_delete_failed'
  | 'not_converged'
  | 'backfill_failed'
  | 'redis_write_failed'
  | 'redis_delete_failed';

/** Background work (backfills) that graceful shutdown waits for. */
export interface BackgroundWork {
  run(task: () => Promise<unknown>): void;
}

export interface DualStores {
  kask: KaskApi;
  redis: RedisApi;
  values: EnvelopeSettings;
  /** TTL for Redis writes (RedisBagOStuff's SETEX); RESTBagOStuff sends none, so it is configured. */
  redisTtlSeconds: number;
  convergenceMaxRounds: number;
  observer: PhaseObserver;
  repairs: RepairSink;
  background: BackgroundWork;
}
