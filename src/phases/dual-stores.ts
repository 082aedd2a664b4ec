// What the phases that write Redis (dual-write, migration, kask-primary, redis-shadow), the repairer and the bulk
// copy share: both stores, the value settings, the request budget, and where work that must not be lost is reported.
import type { EnvelopeSettings } from '../codec/envelope.js';
import type { KaskRead } from '../kask/client.js';
import type { PhaseObserver } from './observer.js';

/**
 * The Kask calls the phases make: the client itself, or the client behind its circuit breaker. Declared here, where
 * it is consumed, so phases never depend on how a backend is reached (and a simulation can stand in for it).
 */
export interface KaskApi {
  get(key: Buffer, forward?: Record<string, string>): Promise<KaskRead>;
  set(key: Buffer, value: Buffer, forward?: Record<string, string>): Promise<void>;
  delete(key: Buffer, forward?: Record<string, string>): Promise<void>;
}

/** The Redis calls the phases make: the store itself, or the store behind its circuit breaker. */
export interface RedisApi {
  get(key: Buffer): Promise<Buffer | null>;
  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<void>;
  delete(key: Buffer): Promise<void>;
}

/**
 * Keys whose Kask copy may be behind Redis and must be re-driven from a fresh Redis read later; durable in
 * production (src/resilience/repair-queue.ts). Every reason means the same repair; it is kept for logs and metrics.
 */
export interface RepairSink {
  record(key: Buffer, reason: RepairReason): void;
}
export type RepairReason =
  /** A Kask write or delete failed or timed out: it may still land, so the repair waits a settle time. */
  | 'kask_write_failed'
  | 'kask_delete_failed'
  /** A Redis write or delete timed out or lost its connection: Redis may have applied it after all. */
  | 'redis_outcome_unknown'
  /** Convergence ran out of rounds or out of the request's deadline, or a store failed during it. */
  | 'not_converged'
  | 'backfill_failed'
  /** The repairer's own Kask write failed or timed out. */
  | 'repair_failed';

/** Background work (backfills) that graceful shutdown and phase switches wait for. */
export interface BackgroundWork {
  run(task: () => Promise<unknown>): void;
}

/** How long one request may take in all, and what one call to each backend may take (its own timeout). */
export interface RequestBudget {
  requestDeadlineMs: number;
  redisCallMs: number;
  kaskCallMs: number;
  /** The clock (ms since the epoch); the protocol simulation runs on a virtual one. */
  now: () => number;
}

export interface DualStores {
  kask: KaskApi;
  redis: RedisApi;
  values: EnvelopeSettings;
  /** TTL for Redis writes (RedisBagOStuff's SETEX); RESTBagOStuff sends none, so it is configured. */
  redisTtlSeconds: number;
  convergenceMaxRounds: number;
  budget: RequestBudget;
  observer: PhaseObserver;
  repairs: RepairSink;
  background: BackgroundWork;
}

/** The moment a request must be done by: its deadline, as a clock value. */
export function deadlineFor(stores: DualStores): number {
  return stores.budget.now() + stores.budget.requestDeadlineMs;
}

/** Time left before `deadline`. */
export function remaining(stores: DualStores, deadline: number): number {
  return deadline - stores.budget.now();
}
