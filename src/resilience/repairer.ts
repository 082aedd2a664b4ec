// The background repairer: drains the durable repair queue with the SPEC §4 protocol once both backends' breakers
// let traffic through, at a bounded rate, removing a key only after its repair succeeded. Runs in the dual phases.

import { LogRateLimit } from '../ops/log-rate-limit.js';
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import { keyForLog } from '../ops/phase-observer.js';
import type { RepairQueueStatus } from '../ops/status-providers.js';
import type { DualStores } from '../phases/dual-stores.js';
import type { Breaker } from './breaker.js';
import type { GuardedRedis } from './guarded-backends.js';
import { repairKask } from './kask-repair.js';
import { agrees, catchUpRedis, type Snapshot, snapshot } from './redis-catch-up.js';
import type { QueuedKey, RepairDirection, RepairQueue } from './repair-queue.js';
import { TokenBucket } from './token-bucket.js';

export interface RepairerOptions {
  queue: RepairQueue;
  /** The stores as the dual phases use them (behind their breakers), from the live config. */
  stores: () => Promise<DualStores>;
  redis: () => Promise<GuardedRedis>;
  breakers: { kask: Breaker; redis: Breaker };
  ratePerSecond: number;
  /** How long both stores must read unchanged before Redis is caught up with Kask (redis-catch-up.ts). */
  quietMs: number;
  /** Keys whose last failure is more recent than this wait (repair.settle_ms). */
  settleMs: number;
  metrics: Metrics;
  logger: Logger;
  /** Between passes while there is work (default 250 ms); idle, it looks once a second. */
  intervalMs?: number;
}

type RepairerState = 'stopped' | 'idle' | 'repairing' | 'waiting_for_backends';
type Outcome = 'repaired' | 'healed' | 'retried';

const BATCH_MAX = 100;
const IDLE_INTERVAL_MS = 1000;

export class Repairer {
  readonly #o: RepairerOptions;
  readonly #bucket: TokenBucket;
  readonly #failureLog = new LogRateLimit(5, 60_000);
  #loop: Promise<void> | null = null;
  #wanted = false;
  #wake: (() => void) | null = null;
  #state: RepairerState = 'stopped';
  #depth: Record<RepairDirection, number> = { kask: 0, redis: 0 };
  #lastPassAt: number | null = null;
  #lastError: string | null = null;

  constructor(opts: RepairerOptions) {
    this.#o = opts;
    this.#bucket = new TokenBucket(opts.ratePerSecond);
  }

  /** Idempotent. */
  start(): void {
    this.#wanted = true;
    this.#loop ??= this.#run().finally(() => {
      this.#loop = null;
      this.#state = 'stopped';
    });
  }

  /** Finishes the key in hand (bounded by the backends' timeouts), then stops; queued keys stay queued. */
  async stop(): Promise<void> {
    this.#wanted = false;
    this.#wake?.();
    await this.#loop;
  }

  /** For the admin API. Stopped (kask-only), it reports what it last knew and does not touch Redis. */
  async status(): Promise<RepairQueueStatus> {
    const running = this.#state !== 'stopped';
    const oldest = await Promise.all(
      (['kask', 'redis'] as const).map((d) =>
        running ? this.#o.queue.oldest(d, 1).catch(() => [] as QueuedKey[]) : [],
      ),
    );
    const first = Math.min(...oldest.flat().map((k) => k.firstFailureMs));
    const buffered = this.#o.queue.buffered;
    return {
      depth: this.#depth.kask + this.#depth.redis + buffered,
      kask_behind: this.#depth.kask,
      redis_behind: this.#depth.redis,
      buffered,
      state: this.#state,
      rate_per_second: this.#o.ratePerSecond,
      oldest_failure: Number.isFinite(first) ? new Date(first).toISOString() : null,
      last_pass: this.#lastPassAt === null ? null : new Date(this.#lastPassAt).toISOString(),
      last_error: this.#lastError,
    };
  }

  async #run(): Promise<void> {
    const busy = this.#o.intervalMs ?? 250;
    while (this.#wanted) {
      try {
        await this.#pass();
      } catch (err) {
        // Most likely Redis is away: keep looking at the busy pace so recovery is noticed at once.
        this.#state = 'waiting_for_backends';
        this.#failed(err, null);
      }
      if (this.#wanted) await this.#sleep(this.#state === 'idle' ? IDLE_INTERVAL_MS : busy);
    }
  }

  async #pass(): Promise<void> {
    const { queue } = this.#o;
    this.#lastPassAt = Date.now();
    await queue.flush();
    this.#depth = await queue.depth();
    this.#state = this.#stateFor(this.#depth.kask + this.#depth.redis);
    if (this.#state !== 'repairing') return;
    // Redis first: a key whose Redis copy is behind must not be re-driven into Kask from it.
    if (this.#depth.redis > 0 && !(await this.#catchUpBatch())) return;
    if (this.#depth.kask > 0 && this.#wanted) await this.#repairBatch();
  }

  #stateFor(depth: number): RepairerState {
    if (depth === 0) return 'idle';
    const { kask, redis } = this.#o.breakers;
    return kask.state === 'open' || redis.state === 'open' ? 'waiting_for_backends' : 'repairing';
  }

  async #repairBatch(): Promise<void> {
    const { queue } = this.#o;
    const entries = await this.#take('kask');
    const behind = await queue.present(
      'redis',
      entries.map((e) => e.key),
    );
    const stores = await this.#o.stores();
    for (const [i, entry] of entries.entries()) {
      if (!this.#wanted) break;
      if (behind[i]) {
        this.#bucket.refund(1); // its turn comes once Redis has caught up
        continue;
      }
      try {
        // Not converged: convergence has queued the key again itself; it stays.
        if (!(await repairKask(stores, entry.key))) this.#count('retried', entry, 'kask');
        else if (await queue.complete('kask', entry)) this.#count('repaired', entry, 'kask');
        else this.#count('retried', entry, 'kask'); // recorded again during the repair: once more
      } catch (err) {
        this.#count('retried', entry, 'kask');
        return this.#failed(err, entry);
      }
    }
  }

  /** False when a backend failed: the pass ends there. */
  async #catchUpBatch(): Promise<boolean> {
    const [stores, redis] = await Promise.all([this.#o.stores(), this.#o.redis()]);
    const waiting: Array<{ entry: QueuedKey; before: Snapshot }> = [];
    for (const entry of await this.#take('redis')) {
      try {
        const before = await snapshot(stores, entry.key);
        if (agrees(stores, before)) await this.#completeHealed(entry);
        else waiting.push({ entry, before });
      } catch (err) {
        this.#count('retried', entry, 'redis');
        this.#failed(err, entry);
        return false;
      }
    }
    if (waiting.length === 0) return true;
    if (!(await this.#sleep(this.#o.quietMs))) return false;
    for (const { entry, before } of waiting) {
      try {
        const result = await catchUpRedis(stores, redis, entry.key, before);
        if (result === 'busy') this.#count('retried', entry, 'redis');
        else await this.#completeHealed(entry);
      } catch (err) {
        this.#count('retried', entry, 'redis');
        this.#failed(err, entry);
        return false;
      }
    }
    return true;
  }

  async #completeHealed(entry: QueuedKey): Promise<void> {
    const removed = await this.#o.queue.complete('redis', entry);
    this.#count(removed ? 'healed' : 'retried', entry, 'redis'); // recorded again meanwhile: once more
  }

  /** The oldest settled keys of one direction, as many as the rate limit allows now. */
  async #take(direction: RepairDirection): Promise<QueuedKey[]> {
    const wanted = this.#bucket.take(Math.min(BATCH_MAX, this.#depth[direction]));
    if (wanted === 0) return [];
    const settledBefore = Date.now() - this.#o.settleMs;
    const entries = (await this.#o.queue.oldest(direction, wanted)).filter(
      (e) => e.lastFailureMs <= settledBefore,
    );
    this.#bucket.refund(wanted - entries.length);
    return entries;
  }

  #count(outcome: Outcome, entry: QueuedKey, direction: RepairDirection): void {
    this.#o.metrics.repairs.inc({ outcome });
    this.#o.logger.debug(
      {
        'event.action': 'repair',
        'event.outcome': outcome,
        'kmp.key': keyForLog(entry.key),
        'kmp.repair.direction': direction,
      },
      `repair ${outcome}`,
    );
  }

  #failed(err: unknown, entry: QueuedKey | null): void {
    this.#lastError = err instanceof Error ? err.message : String(err);
    const suppressed = this.#failureLog.take();
    if (suppressed === null) return;
    this.#o.logger.warn(
      {
        'event.action': 'repair',
        'event.outcome': 'failure',
        'error.message': this.#lastError,
        'error.code': (err as { code?: unknown }).code,
        'kmp.key': entry ? keyForLog(entry.key) : undefined,
        'kmp.suppressed_lines': suppressed,
      },
      'repair attempt failed; the key stays queued',
    );
  }

  /** Resolves true after `ms`, or false at once when stopped meanwhile. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(true);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(false);
      };
    });
  }
}
