// One simulated Kask shared by every sidecar: GET/POST/DELETE on byte keys, each applied atomically when its event
// fires. Faults per call (faults.ts): slow (answers within the deadline), error (500, nothing applied) and timeout
// with LATE LANDING: the caller gets a timeout at its deadline while the mutation is applied at a later virtual time
// (up to ~12 s later, Cassandra's own write timeout), or never.
import type { KaskRead } from '../../src/kask/client.js';
import { kaskFailed, kaskTimedOut } from '../support/fakes/backends.js';
import { ByteStore, keyName } from '../support/fakes/byte-store.js';
import type { Faults, KaskOp } from './faults.js';
import type { Scheduler } from './scheduler.js';
import { type Caller, show } from './sim-redis.js';

/** Cassandra's write timeout: how long after a call gave up its write can still land. */
export const LATE_LANDING_MAX_MS = 12_000;
/** Latency of a healthy call: 0–2 ms, so calls from several sidecars overtake each other. */
const HEALTHY_MAX_MS = 2;

export class SimKask {
  readonly data = new ByteStore();
  /** Mutations that timed out on the caller's side and will still be applied. */
  lateLandings = 0;

  constructor(
    readonly sched: Scheduler,
    readonly faults: Faults,
    /** The caller's per-call deadline (kask.request_timeout_ms). */
    readonly deadlineMs: number,
  ) {}

  /** The KaskApi surface (KaskClient's get/set/delete) for one sidecar. */
  client(caller: Caller) {
    return {
      get: (key: Buffer, _forward: Record<string, string> = {}): Promise<KaskRead> => {
        const k = keyName(key);
        return this.#call(caller, 'get', k, `GET ${k}`, () => {
          const v = this.data.get(k);
          return v ? { kind: 'hit', value: v } : { kind: 'miss' };
        });
      },
      set: (key: Buffer, value: Buffer, _forward: Record<string, string> = {}): Promise<void> => {
        const k = keyName(key);
        const copy = Buffer.from(value);
        return this.#call(caller, 'set', k, `POST ${k} ${show(copy)}`, () => {
          this.data.set(k, copy);
        });
      },
      delete: (key: Buffer, _forward: Record<string, string> = {}): Promise<void> => {
        const k = keyName(key);
        return this.#call(caller, 'delete', k, `DELETE ${k}`, () => {
          this.data.delete(k);
        });
      },
    };
  }

  #call<T>(caller: Caller, op: KaskOp, key: string, label: string, apply: () => T): Promise<T> {
    const { sched } = this;
    if (!caller.alive) return new Promise<T>(() => {});
    const fault = this.faults.kask(sched.now(), caller.name, key, op);
    const actor = `kask<${caller.name}`;
    return new Promise<T>((resolveLive, rejectLive) => {
      // A request already sent still takes effect after its sender crashed; nobody hears the answer.
      const resolve = (v: T) => caller.alive && resolveLive(v);
      const reject = (e: unknown) => caller.alive && rejectLive(e);
      if (fault?.mode === 'error') {
        sched.schedule(sched.rng.int(HEALTHY_MAX_MS + 1), actor, `${label} → 500`, () =>
          reject(kaskFailed(op)),
        );
        return;
      }
      if (fault?.mode === 'timeout') {
        const invoked = sched.now();
        if (op !== 'get' && sched.rng.chance(fault.lands ?? 0.85)) {
          const delay = fault.delayMs ?? sched.rng.between(1, this.deadlineMs + LATE_LANDING_MAX_MS);
          this.lateLandings++;
          sched.schedule(delay, actor, `${label} LANDS (sent at ${invoked} ms, timed out)`, () => {
            this.lateLandings--;
            apply();
          });
        }
        sched.schedule(this.deadlineMs, actor, `${label} → TIMEOUT`, () => reject(kaskTimedOut(op)));
        return;
      }
      const latency =
        fault?.mode === 'slow'
          ? (fault.delayMs ?? sched.rng.between(200, this.deadlineMs - 1))
          : sched.rng.int(HEALTHY_MAX_MS + 1);
      sched.schedule(latency, actor, fault ? `${label} (slow ${latency} ms)` : label, () => resolve(apply()));
    });
  }
}
