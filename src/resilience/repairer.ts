// The background repairer: drains the durable repair queue, re-driving each due key into Kask from a fresh Redis
// read (kask-repair.ts), at a bounded rate. A key is removed only after its repair succeeded. A failing key backs off
// on its own (base × 2^failures, capped) and never holds up the others; a repair whose Kask write failed may still
// land, so the key is recorded again with a fresh settle time instead. Runs in the phases that write Redis.
import { LogRateLimit } from '../ops/log-rate-limit.js';
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import { keyForLog } from '../ops/phase-observer.js';
import type { RepairQueueStatus } from '../ops/status-providers.js';
import type { DualStores } from '../phases/dual-stores.js';
import type { Breaker } from './breaker.js';
import { type RepairResult, repairKask } from './kask-repair.js';
import type { QueuedKey } from './repair-ledger.js';
import type { RepairQueue } from './repair-queue.js';
import { TokenBucket } from './token-bucket.js';

export interface RepairerOptions {
  queue: RepairQueue;
  /**
   * The stores as the repairer uses them, from the live config. Not behind the request path's breakers: a quiet host
   * whose repairs fail must not open the breaker its requests use. The repairer pauses while those are open.
   */
  stores: () => Promise<DualStores>;
  breakers: { kask: Pick<Breaker, 'state'>; redis: Pick<Breaker, 'state'> };
  ratePerSecond: number;
  /** How long a key whose Kask write failed waits before the next attempt (repair.settle_ms). */
  settleMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Keys repaired at once within a pass. */
  concurrency?: number;
  metrics: Metrics;
  logger: Logger;
  /** Between passes while there is work (default 250 ms); idle, it looks once a second. */
  intervalMs?: number;
  /** The clock (ms since the epoch); the protocol simulation runs on a virtual one. */
  now?: () => number;
}

type RepairerState = 'stopped' | 'idle' | 'repairing' | 'waiting_for_backends';
type Outcome = 'repaired' | 'retried';

const BATCH_MAX = 100;
const IDLE_INTERVAL_MS = 1000;
const DEFAULT_CONCURRENCY = 4;

/** base × 2^failures, capped: the wait before attempt number `failures + 1`. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures, 30));
}

export class Repairer {
  readonly #o: RepairerOptions;
  readonly #now: () => number;
  readonly #bucket: TokenBucket;
  readonly #failureLog = new LogRateLimit(5, 60_000);
  #loop: Promise<void> | null = null;
  #wanted = false;
  #wake: (() => void) | null = null;
  #state: RepairerState = 'stopped';
  #depth = 0;
  #lastPassAt: number | null = null;
  #lastError: string | null = null;

  constructor(opts: RepairerOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#bucket = new TokenBucket(opts.ratePerSecond, this.#now);
  }

  /** Idempotent. */
  start(): void {
    this.#wanted = true;
    this.#loop ??= this.#run().finally(() => {
      this.#loop = null;
      this.#state = 'stopped';
    });
  }

  /** Finishes the keys in hand (bounded by the request deadline), then stops; queued keys stay queued. */
  async stop(): Promise<void> {
    this.#wanted = false;
    this.#wake?.();
    await this.#loop;
  }

  get running(): boolean {
    return this.#loop !== null;
  }

  /** For the admin API. Stopped (kask-only), it reports what it last knew and does not touch Redis. */
  async status(): Promise<RepairQueueStatus> {
    const running = this.#state !== 'stopped';
    const next = running ? await this.#o.queue.next().catch(() => null) : null;
    const buffered = this.#o.queue.buffered;
    return {
      depth: this.#depth + buffered,
      buffered,
      state: this.#state,
      rate_per_second: this.#o.ratePerSecond,
      next_due: next === null ? null : new Date(next.dueMs).toISOString(),
      last_pass: this.#lastPassAt === null ? null : new Date(this.#lastPassAt).toISOString(),
      last_error: this.#lastError,
    };
  }

  /** One pass now (tests and the simulation drive it directly). */
  async pass(): Promise<void> {
    const { queue } = this.#o;
    this.#lastPassAt = this.#now();
    await queue.flush();
    this.#depth = await queue.depth();
    this.#state = this.#stateFor(this.#depth);
    if (this.#state !== 'repairing') return;
    const wanted = this.#bucket.take(Math.min(BATCH_MAX, this.#depth));
    if (wanted === 0) return;
    const entries = await queue.due(wanted);
    this.#bucket.refund(wanted - entries.length);
    if (entries.length === 0) return;
    const stores = await this.#o.stores();
    let next = 0;
    const worker = async () => {
      while (this.#wanted && next < entries.length) await this.#repair(stores, entries[next++]!);
    };
    const workers = Math.min(this.#o.concurrency ?? DEFAULT_CONCURRENCY, entries.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  async #run(): Promise<void> {
    const busy = this.#o.intervalMs ?? 250;
    while (this.#wanted) {
      try {
        await this.pass();
      } catch (err) {
        // The queue itself is out of reach (Redis is away): look again at the busy pace so recovery is seen at once.
        this.#state = 'waiting_for_backends';
        this.#failed(err, null);
      }
      if (this.#wanted) await this.#sleep(this.#state === 'idle' ? IDLE_INTERVAL_MS : busy);
    }
  }

  #stateFor(depth: number): RepairerState {
    if (depth === 0) return 'idle';
    const { kask, redis } = this.#o.breakers;
    return kask.state === 'open' || redis.state === 'open' ? 'waiting_for_backends' : 'repairing';
  }

  /** One key; whatever happens, the others go on. */
  async #repair(stores: DualStores, entry: QueuedKey): Promise<void> {
    const result = await repairKask(stores, entry.key);
    try {
      if (result.kind === 'repaired') {
        // Recorded again during the repair: it stays queued with its fresh due time.
        this.#count((await this.#o.queue.complete(entry)) ? 'repaired' : 'retried', entry);
      } else if (result.kind === 'deferred') {
        this.#count('retried', entry); // convergence recorded it again itself
      } else {
        await this.#afterFailure(entry, result);
      }
    } catch (err) {
      this.#failed(err, entry); // the queue is out of reach; the key stays queued as it was
    }
  }

  async #afterFailure(entry: QueuedKey, result: Extract<RepairResult, { kind: 'failed' }>): Promise<void> {
    this.#o.metrics.repairFailures.inc({ backend: result.backend });
    this.#count('retried', entry);
    this.#failed(result.error, entry);
    const backoff = this.#now() + backoffMs(entry.failures, this.#o.backoffBaseMs, this.#o.backoffMaxMs);
    if (!result.kaskOutcomeUnknown) {
      await this.#o.queue.retryAt(entry, backoff);
      return;
    }
    // The write may still land: the next attempt must come after it could have. Recording the key again also moves
    // its generation on, so another sidecar's repair of it that finishes meanwhile cannot remove it.
    const due = Math.max(backoff, this.#now() + this.#o.settleMs);
    await this.#o.queue.retryAt(entry, due);
    this.#o.queue.recordDue(entry.key, 'repair_failed', due);
  }

  #count(outcome: Outcome, entry: QueuedKey): void {
    this.#o.metrics.repairs.inc({ outcome });
    this.#o.logger.debug(
      { 'event.action': 'repair', 'event.outcome': outcome, 'kmp.key': keyForLog(entry.key) },
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
        'error.code': (err as { code?: unknown } | null)?.code,
        'kmp.key': entry ? keyForLog(entry.key) : undefined,
        'kmp.suppressed_lines': suppressed,
      },
      'repair attempt failed; the key stays queued and backs off',
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
