// What the dual phases (dual-write, migration) and the bulk tools share: both stores, the value settings, and
// where work that must not be lost is reported.
import type { EnvelopeSettings } from '../codec/envelope.js';
import type { KaskClient } from '../kask/client.js';
import type { RedisStore } from '../redis/store.js';
import type { PhaseObserver } from './observer.js';

/** Keys whose Kask copy may be wrong and must be re-driven later (SPEC §5); durable in production. */
export interface RepairSink {
  record(key: Buffer, reason: RepairReason): void;
}
export type RepairReason = 'kask_write_failed' | 'kask_delete_failed' | 'not_converged' | 'backfill_failed';

/** Background work (backfills) that graceful shutdown waits for. */
export interface BackgroundWork {
  run(task: () => Promise<unknown>): void;
}

export interface DualStores {
  kask: KaskClient;
  redis: RedisStore;
  values: EnvelopeSettings;
  /** TTL for Redis writes (RedisBagOStuff's SETEX); RESTBagOStuff sends none, so it is configured. */
  redisTtlSeconds: number;
  convergenceMaxRounds: number;
  observer: PhaseObserver;
  repairs: RepairSink;
  background: BackgroundWork;
}
