// The repair queue's durable storage, simulated at the interface the queue talks to (RepairLedger,
// src/resilience/repair-ledger.ts): each operation is one atomic step on the simulated Redis, as each is one Lua
// script on the real one, so it is scheduled, interleaved and faulted like any other Redis call. The Lua scripts
// themselves run against a real redis-server in test/resilience/repair-queue.test.ts.
import type { QueuedKey, RepairLedger } from '../../src/resilience/repair-ledger.js';
import { type Caller, keyName, type SimRedis } from './sim-redis.js';

/** One queued key as stored: due time and generation ("<times recorded>:<failed attempts>"). */
interface Entry {
  dueMs: number;
  times: number;
  failures: number;
}

/** The queue's state, shared by every sidecar (it lives in the one Redis). */
export class SimQueueState {
  readonly entries = new Map<string, Entry>();

  /** Keys in due order (then by bytes, as Redis orders equal scores). */
  sorted(): Array<[string, Entry]> {
    return [...this.entries].sort(
      ([ka, a], [kb, b]) => a.dueMs - b.dueMs || (ka < kb ? -1 : ka > kb ? 1 : 0),
    );
  }
}

const generationOf = (e: Entry): string => `${e.times}:${e.failures}`;

/** The ledger one sidecar uses: its calls go through that sidecar's connection (faults, crashes). */
export function simRepairLedger(redis: SimRedis, state: SimQueueState, caller: Caller): RepairLedger {
  const step = <T>(label: string, apply: () => T, quiet = false): Promise<T> =>
    redis.call({ caller, label, key: null, write: false, quiet, apply });
  return {
    record: (entries, maxKeys) =>
      step(`QUEUE RECORD ${entries.map((e) => keyName(e.key)).join(',')}`, () => {
        const refused: number[] = [];
        entries.forEach(({ key, dueMs }, i) => {
          const k = keyName(key);
          const known = state.entries.get(k);
          if (known) {
            known.dueMs = Math.max(known.dueMs, Math.ceil(dueMs));
            known.times++;
          } else if (state.entries.size < maxKeys) {
            state.entries.set(k, { dueMs: Math.ceil(dueMs), times: 1, failures: 0 });
          } else refused.push(i);
        });
        return refused;
      }),
    due: (nowMs, count) =>
      step(
        'QUEUE DUE',
        () =>
          state
            .sorted()
            .filter(([, e]) => e.dueMs <= nowMs)
            .slice(0, count)
            .map(
              ([k, e]): QueuedKey => ({
                key: Buffer.from(k, 'latin1'),
                dueMs: e.dueMs,
                generation: generationOf(e),
                failures: e.failures,
              }),
            ),
        true,
      ),
    complete: (entry) =>
      step(`QUEUE COMPLETE ${keyName(entry.key)}`, () => {
        const k = keyName(entry.key);
        const e = state.entries.get(k);
        if (!e || generationOf(e) !== entry.generation) return false;
        state.entries.delete(k);
        return true;
      }),
    retryAt: (entry, dueMs) =>
      step(`QUEUE RETRY ${keyName(entry.key)} at ${Math.ceil(dueMs)}`, () => {
        const e = state.entries.get(keyName(entry.key));
        if (!e || generationOf(e) !== entry.generation) return false;
        e.failures++;
        e.dueMs = Math.ceil(dueMs);
        return true;
      }),
    depth: () => step('QUEUE DEPTH', () => state.entries.size, true),
  };
}
