// The durable repair queue: keys whose Kask copy may be behind Redis (a Kask write failed or its outcome is unknown,
// a convergence ran out of time), kept in a shared ledger (Redis) so they survive restarts and any sidecar can
// repair them. One direction only: a repair re-drives Kask from a fresh Redis read (docs/protocol.md).
// Recording never blocks a request; while the ledger cannot take a key it waits in a bounded buffer; a key that
// can be kept nowhere is counted lost and logged. Nothing is dropped silently.
import type { Logger } from '../ops/logging.js';
import type { Metrics } from '../ops/metrics.js';
import { keyForLog } from '../ops/phase-observer.js';
import type { RepairReason, RepairSink } from '../phases/dual-stores.js';
import type { QueuedKey, RepairLedger } from './repair-ledger.js';

export interface RepairQueueOptions {
  ledger: RepairLedger;
  maxQueueKeys: number;
  bufferKeys: number;
  /**
   * A recorded key is repaired no sooner than this: a Kask write that timed out on our side may still land (Kask's
   * Cassandra timeout is 12 s), and the repair must come after it.
   */
  settleMs: number;
  metrics: Metrics;
  logger: Logger;
  /** The clock (ms since the epoch); the protocol simulation runs on a virtual one. */
  now?: () => number;
}

interface Buffered {
  key: Buffer;
  reason: RepairReason;
  dueMs: number;
  /** Bumped when the key is recorded again while buffered, so a flush in flight does not swallow it. */
  version: number;
}

const FLUSH_BATCH = 500;
const FLUSH_RETRY_MS = 250;

export class RepairQueue implements RepairSink {
  readonly #opts: RepairQueueOptions;
  readonly #now: () => number;
  readonly #buffer = new Map<string, Buffered>();
  #flushing: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  /** Keys in the ledger when last counted; the depth gauge adds what is buffered here. */
  #durableCount = 0;

  constructor(opts: RepairQueueOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get ledger(): RepairLedger {
    return this.#opts.ledger;
  }

  /** A key whose Kask copy may be behind; repairable once settled. */
  record(key: Buffer, reason: RepairReason): void {
    this.recordDue(key, reason, this.#now() + this.#opts.settleMs);
  }

  /** As record(), with an explicit earliest repair time (never earlier than a settle time from now). */
  recordDue(key: Buffer, reason: RepairReason, dueMs: number): void {
    const id = key.toString('latin1');
    const known = this.#buffer.get(id);
    if (known) {
      known.version++;
      known.dueMs = Math.max(known.dueMs, dueMs);
    } else if (this.#closed || this.#buffer.size >= this.#opts.bufferKeys) {
      this.#lost(key, reason, this.#closed ? 'shutting down' : 'repair buffer full');
      return;
    } else {
      // Copy: the caller's key may be a view into a request buffer that is reused.
      this.#buffer.set(id, { key: Buffer.from(key), reason, dueMs, version: 0 });
      this.#publishDepth();
    }
    this.#scheduleFlush();
  }

  /** Keys recorded in this process but not yet in the ledger. */
  get buffered(): number {
    return this.#buffer.size;
  }

  /** Moves buffered keys into the ledger; on failure they stay buffered and a retry is scheduled. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async depth(): Promise<number> {
    this.#durableCount = await this.#opts.ledger.depth();
    this.#publishDepth();
    return this.#durableCount;
  }

  due(count: number): Promise<QueuedKey[]> {
    return this.#opts.ledger.due(this.#now(), count);
  }

  /** The earliest-due key, due or not (for status). */
  async next(): Promise<QueuedKey | null> {
    return (await this.#opts.ledger.due(Number.MAX_SAFE_INTEGER, 1))[0] ?? null;
  }

  complete(entry: QueuedKey): Promise<boolean> {
    return this.#opts.ledger.complete(entry);
  }

  retryAt(entry: QueuedKey, dueMs: number): Promise<boolean> {
    return this.#opts.ledger.retryAt(entry, dueMs);
  }

  /**
   * Last flushes, retried for up to `budgetMs` (a Redis that is slow right now may take them in a moment); whatever
   * still cannot be stored is counted lost and logged, key by key.
   */
  async close(budgetMs = 0): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    const deadline = this.#now() + budgetMs;
    for (;;) {
      await this.flush().catch(() => {});
      if (this.#buffer.size === 0 || this.#now() + FLUSH_RETRY_MS > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, FLUSH_RETRY_MS));
    }
    for (const entry of this.#buffer.values())
      this.#lost(entry.key, entry.reason, 'Redis unreachable at shutdown');
    this.#buffer.clear();
    this.#publishDepth();
  }

  #scheduleFlush(): void {
    if (this.#retry === null) void this.flush();
  }

  async #flushAll(): Promise<void> {
    while (this.#buffer.size > 0) {
      const batch = [...this.#buffer.entries()].slice(0, FLUSH_BATCH);
      const entries = batch.map(([, entry]) => entry);
      const versions = entries.map((e) => e.version);
      let refused: number[];
      try {
        refused = await this.#opts.ledger.record(entries, this.#opts.maxQueueKeys);
      } catch {
        if (!this.#closed) this.#retryLater();
        return;
      }
      const full = new Set(refused);
      batch.forEach(([id, entry], i) => {
        if (full.has(i)) this.#lost(entry.key, entry.reason, 'repair queue full (repair.max_queue_keys)');
        else this.#opts.metrics.repairs.inc({ outcome: 'queued' });
        // Recorded again while this batch was being stored: keep it for the next round.
        if (entry.version === versions[i] || full.has(i)) this.#buffer.delete(id);
      });
      this.#durableCount += batch.length - full.size; // an upper bound until the next count
      this.#publishDepth();
    }
  }

  /**
   * kmp_repair_queue_depth: keys in the ledger as last counted plus keys buffered here. Kept current while Redis is
   * away too, so an outage's backlog shows while it builds up.
   */
  #publishDepth(): void {
    this.#opts.metrics.repairQueueDepth.set(this.#durableCount + this.#buffer.size);
  }

  #retryLater(): void {
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.flush();
    }, FLUSH_RETRY_MS);
    this.#retry.unref?.();
  }

  #lost(key: Buffer, reason: RepairReason, why: string): void {
    this.#opts.metrics.repairs.inc({ outcome: 'lost' });
    this.#opts.logger.error(
      {
        'event.action': 'repair.record',
        'event.outcome': 'failure',
        'event.reason': reason,
        'kmp.key': keyForLog(key),
        'error.message': why,
      },
      'key needs repair but could not be queued: repair it by hand',
    );
  }
}
