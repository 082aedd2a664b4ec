// The rest of what a phase is given (src/phases/dual-stores.ts, observer.ts), recorded in memory: the repair queue
// as the keys recorded into it, the observer as the events it was told, and background work held until the test
// lets it run, so a test decides where a backfill lands among other requests.
import type { BackgroundWork, RepairReason, RepairSink } from '../../../src/phases/dual-stores.js';
import type { PhaseObserver } from '../../../src/phases/observer.js';
import { keyName } from './byte-store.js';

export class RecordingRepairs implements RepairSink {
  readonly recorded: Array<{ key: string; reason: RepairReason }> = [];

  record(key: Buffer, reason: RepairReason): void {
    this.recorded.push({ key: keyName(key), reason });
  }

  /** The reasons `key` was recorded for, in order. */
  reasons(key: Buffer | string): RepairReason[] {
    return this.recorded.filter((r) => r.key === keyName(key)).map((r) => r.reason);
  }
}

/** Every event as `[method, ...arguments]`, keys as strings and errors by their code. */
export class RecordingObserver implements PhaseObserver {
  readonly events: unknown[][] = [];

  read: PhaseObserver['read'] = (source) => void this.events.push(['read', source]);
  backendFailure: PhaseObserver['backendFailure'] = (backend, op, err) =>
    void this.events.push(['backendFailure', backend, op, (err as { code?: string }).code]);
  backfill: PhaseObserver['backfill'] = (outcome) => void this.events.push(['backfill', outcome]);
  dualWriteFailure: PhaseObserver['dualWriteFailure'] = (backend, op) =>
    void this.events.push(['dualWriteFailure', backend, op]);
  conversionFailure: PhaseObserver['conversionFailure'] = (direction, reason, key) =>
    void this.events.push(['conversionFailure', direction, reason, keyName(key)]);
  convergence: PhaseObserver['convergence'] = (outcome, key) =>
    void this.events.push(['convergence', outcome, keyName(key)]);
  shadow: PhaseObserver['shadow'] = (result, key) => void this.events.push(['shadow', result, keyName(key)]);

  /** The arguments of every event of one kind. */
  of(method: keyof PhaseObserver): unknown[][] {
    return this.events.filter((e) => e[0] === method).map((e) => e.slice(1));
  }
}

/** Background work that starts only when the test says so. */
export class HeldBackground implements BackgroundWork {
  readonly #held: Array<() => Promise<unknown>> = [];

  run(task: () => Promise<unknown>): void {
    this.#held.push(task);
  }

  get held(): number {
    return this.#held.length;
  }

  /** Runs what is held (and what that starts), one task at a time, until nothing is left. */
  async runAll(): Promise<void> {
    for (let task = this.#held.shift(); task; task = this.#held.shift()) await task().catch(() => {});
  }
}
