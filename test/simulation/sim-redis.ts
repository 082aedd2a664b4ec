// One simulated Redis shared by every sidecar: byte-exact GET/SET/DEL, each applied atomically when its event
// fires. Faults per call (faults.ts): refused data writes (an error reply, like an ACL, READONLY or OOM) and
// timeouts (the PRNG decides whether the command was applied before the error is delivered).
// TTLs are not modelled: a run spans minutes of virtual time, and the sidecar's TTL is a year.

import { redisRefused, redisTimedOut } from '../support/fakes/backends.js';
import { ByteStore, keyName } from '../support/fakes/byte-store.js';
import type { Faults } from './faults.js';
import type { Scheduler } from './scheduler.js';

/** One sidecar process: a crashed one sends nothing more and hears no answers. */
export interface Caller {
  name: string;
  alive: boolean;
}

export interface RedisCall<T> {
  caller: Caller;
  /** For the trace, e.g. `SET k1`. */
  label: string;
  /** The data key touched, if any (faults can target one key). */
  key: string | null;
  /** A data-key write: refusals apply. */
  write: boolean;
  /** Idle polling: left out of printed traces. */
  quiet?: boolean;
  apply: () => T;
}

export class SimRedis {
  readonly data = new ByteStore();

  constructor(
    readonly sched: Scheduler,
    readonly faults: Faults,
    readonly commandTimeoutMs: number,
  ) {}

  /** One command, applied atomically when its event fires. */
  call<T>(c: RedisCall<T>): Promise<T> {
    if (!c.caller.alive) return new Promise<T>(() => {});
    const fault = this.faults.redis(this.sched.now(), c.caller.name, c.key, c.write);
    const actor = `redis<${c.caller.name}`;
    return new Promise<T>((resolveLive, rejectLive) => {
      // A command already sent still takes effect after its sender crashed; nobody hears the answer.
      const resolve = (v: T) => c.caller.alive && resolveLive(v);
      const reject = (e: unknown) => c.caller.alive && rejectLive(e);
      if (fault?.mode === 'refuse') {
        this.sched.schedule(0, actor, `${c.label} REFUSED`, () => reject(redisRefused(c.label)));
      } else if (fault?.mode === 'timeout') {
        const applied = this.sched.rng.chance(fault.applied ?? 0.5);
        this.sched.schedule(
          this.commandTimeoutMs,
          actor,
          `${c.label} TIMEOUT (${applied ? 'applied' : 'not applied'})`,
          () => {
            if (applied) c.apply();
            reject(redisTimedOut(c.label));
          },
        );
      } else {
        this.sched.schedule(
          0,
          actor,
          c.label,
          () => {
            try {
              resolve(c.apply());
            } catch (err) {
              reject(err);
            }
          },
          c.quiet,
        );
      }
    });
  }

  /** The RedisStore surface the sidecar's GuardedRedis uses (get/set/delete/key, `client` added by the world). */
  dataStore(caller: Caller) {
    return {
      key: (key: Buffer): Buffer => key,
      get: (key: Buffer): Promise<Buffer | null> => {
        const k = keyName(key);
        return this.call({
          caller,
          label: `GET ${k}`,
          key: k,
          write: false,
          apply: () => this.data.get(k),
        });
      },
      set: async (key: Buffer, value: Buffer, _ttlSeconds: number): Promise<void> => {
        const k = keyName(key);
        const copy = Buffer.from(value);
        await this.call({
          caller,
          label: `SET ${k} ${show(copy)}`,
          key: k,
          write: true,
          apply: () => {
            this.data.set(k, copy);
          },
        });
      },
      delete: async (key: Buffer): Promise<void> => {
        const k = keyName(key);
        await this.call({
          caller,
          label: `DEL ${k}`,
          key: k,
          write: true,
          apply: () => {
            this.data.delete(k);
          },
        });
      },
    };
  }
}

/** A value for the trace: printable bytes as they are, at most 40 characters. */
export function show(value: Buffer | null): string {
  if (value === null) return '(absent)';
  const text = value.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
