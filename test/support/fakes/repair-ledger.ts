// The repair queue's durable storage in memory, at the interface the queue uses (RepairLedger,
// src/resilience/repair-ledger.ts): the same answers the Lua scripts give on Redis, each operation one atomic step.
// The protocol simulation runs each step as one call on its simulated Redis (test/simulation/sim-repair-ledger.ts);
// unit tests use `memoryRepairLedger` directly. The scripts themselves run against a real redis-server in
// test/resilience/repair-queue.test.ts.
import type { QueuedKey, RepairLedger } from '../../../src/resilience/repair-ledger.js';
import { keyName } from './byte-store.js';

/** One queued key as stored: due time and generation ("<times recorded>:<failed attempts>"). */
export interface LedgerEntry {
  dueMs: number;
  times: number;
  failures: number;
}

const generationOf = (e: LedgerEntry): string => `${e.times}:${e.failures}`;

/** The queue's state (in production it lives in the one Redis every sidecar shares). */
export class RepairLedgerState {
  readonly entries = new Map<string, LedgerEntry>();

  /** Keys in due order (then by bytes, as Redis orders equal scores). */
  sorted(): Array<[string, LedgerEntry]> {
    return [...this.entries].sort(
      ([ka, a], [kb, b]) => a.dueMs - b.dueMs || (ka < kb ? -1 : ka > kb ? 1 : 0),
    );
  }

  record(entries: ReadonlyArray<{ key: Buffer; dueMs: number }>, maxKeys: number): number[] {
    const refused: number[] = [];
    entries.forEach(({ key, dueMs }, i) => {
      const k = keyName(key);
      const known = this.entries.get(k);
      if (known) {
        known.dueMs = Math.max(known.dueMs, Math.ceil(dueMs));
        known.times++;
      } else if (this.entries.size < maxKeys) {
        this.entries.set(k, { dueMs: Math.ceil(dueMs), times: 1, failures: 0 });
      } else refused.push(i);
    });
    return refused;
  }

  due(nowMs: number, count: number): QueuedKey[] {
    return this.sorted()
      .filter(([, e]) => e.dueMs <= nowMs)
      .slice(0, count)
      .map(([k, e]) => ({
        key: Buffer.from(k, 'latin1'),
        dueMs: e.dueMs,
        generation: generationOf(e),
        failures: e.failures,
      }));
  }

  complete(entry: QueuedKey): boolean {
    const k = keyName(entry.key);
    const e = this.entries.get(k);
    if (!e || generationOf(e) !== entry.generation) return false;
    this.entries.delete(k);
    return true;
  }

  retryAt(entry: QueuedKey, dueMs: number): boolean {
    const e = this.entries.get(keyName(entry.key));
    if (!e || generationOf(e) !== entry.generation) return false;
    e.failures++;
    e.dueMs = Math.ceil(dueMs);
    return true;
  }

  depth(): number {
    return this.entries.size;
  }
}

/** A ledger over `state` that answers at once. */
export function memoryRepairLedger(state = new RepairLedgerState()): RepairLedger {
  return {
    record: async (entries, maxKeys) => state.record(entries, maxKeys),
    due: async (nowMs, count) => state.due(nowMs, count),
    complete: async (entry) => state.complete(entry),
    retryAt: async (entry, dueMs) => state.retryAt(entry, dueMs),
    depth: async () => state.depth(),
  };
}
