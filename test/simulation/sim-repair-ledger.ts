// The repair queue's durable storage, simulated at the interface the queue talks to (RepairLedger,
// src/resilience/repair-ledger.ts): each operation is one atomic step on the simulated Redis, as each is one Lua
// script on the real one, so it is scheduled, interleaved and faulted like any other Redis call. What each step
// does is the shared in-memory ledger's (test/support/fakes/repair-ledger.ts); the Lua scripts themselves run
// against a real redis-server in test/resilience/repair-queue.test.ts.
import type { RepairLedger } from '../../src/resilience/repair-ledger.js';
import { keyName } from '../support/fakes/byte-store.js';
import type { RepairLedgerState } from '../support/fakes/repair-ledger.js';
import type { Caller, SimRedis } from './sim-redis.js';

/** The ledger one sidecar uses: its calls go through that sidecar's connection (faults, crashes). */
export function simRepairLedger(redis: SimRedis, state: RepairLedgerState, caller: Caller): RepairLedger {
  const step = <T>(label: string, apply: () => T, quiet = false): Promise<T> =>
    redis.call({ caller, label, key: null, write: false, quiet, apply });
  return {
    record: (entries, maxKeys) =>
      step(`QUEUE RECORD ${entries.map((e) => keyName(e.key)).join(',')}`, () =>
        state.record(entries, maxKeys),
      ),
    due: (nowMs, count) => step('QUEUE DUE', () => state.due(nowMs, count), true),
    complete: (entry) => step(`QUEUE COMPLETE ${keyName(entry.key)}`, () => state.complete(entry)),
    retryAt: (entry, dueMs) =>
      step(`QUEUE RETRY ${keyName(entry.key)} at ${Math.ceil(dueMs)}`, () => state.retryAt(entry, dueMs)),
    depth: () => step('QUEUE DEPTH', () => state.depth(), true),
  };
}
