// Fault windows: which store calls fail, and how, during which stretch of virtual time. The simulated stores ask
// here at the moment a call is made; the workload and the scenarios put windows in.
import type { Rng } from './scheduler.js';

export type KaskOp = 'get' | 'set' | 'delete';
/**
 * slow: answers late but within the deadline. error: answers 500 at once, nothing applied. timeout: the caller's
 * deadline passes; a mutation may still be applied later (LATE LANDING, up to ~12 s later, like Cassandra).
 */
export type KaskFaultMode = 'slow' | 'error' | 'timeout';
/** refuse: an error reply for data writes (like an ACL, READONLY or OOM). timeout: applied or not, then an error. */
export type RedisFaultMode = 'refuse' | 'timeout';

interface Window {
  /** Virtual ms since the run began, [from, to). */
  from: number;
  to: number;
  /** Only this sidecar's calls (all when absent). */
  sidecar?: string;
  /** Only calls on this data key (all when absent). */
  key?: string;
  /** Probability that a matching call is hit. */
  p?: number;
}

export interface KaskWindow extends Window {
  backend: 'kask';
  mode: KaskFaultMode;
  ops?: KaskOp[];
  /** For `slow`: exact latency (ms) instead of a random one. For `timeout`: exact landing delay after the call. */
  delayMs?: number;
  /** For `timeout` mutations: probability that it lands at all (default 0.85). */
  lands?: number;
}

export interface RedisWindow extends Window {
  backend: 'redis';
  mode: RedisFaultMode;
  /** For `timeout`: probability that the command was applied before the error (default 0.5). */
  applied?: number;
}

export type FaultWindow = KaskWindow | RedisWindow;

export class Faults {
  readonly windows: FaultWindow[] = [];

  constructor(readonly rng: Rng) {}

  add(window: FaultWindow): void {
    this.windows.push(window);
  }

  /** The end of the last window: after it, the run is fault-free. */
  get lastEnd(): number {
    return Math.max(0, ...this.windows.map((w) => w.to));
  }

  kask(now: number, sidecar: string, key: string, op: KaskOp): KaskWindow | null {
    for (const w of this.windows)
      if (w.backend === 'kask' && this.#matches(w, now, sidecar, key) && (!w.ops || w.ops.includes(op)))
        if (w.p === undefined || this.rng.chance(w.p)) return w;
    return null;
  }

  /** `write`: a data-key write (SET, DEL, compare-and-set); refusals hit only those. */
  redis(now: number, sidecar: string, key: string | null, write: boolean): RedisWindow | null {
    for (const w of this.windows)
      if (
        w.backend === 'redis' &&
        (w.mode === 'timeout' || write) &&
        this.#matches(w, now, sidecar, key) &&
        (w.p === undefined || this.rng.chance(w.p))
      )
        return w;
    return null;
  }

  #matches(w: Window, now: number, sidecar: string, key: string | null): boolean {
    if (now < w.from || now >= w.to) return false;
    if (w.sidecar !== undefined && w.sidecar !== sidecar) return false;
    return w.key === undefined || w.key === key;
  }
}

export function describeWindow(w: FaultWindow): string {
  const scope = [w.sidecar ? `sidecar ${w.sidecar}` : 'all sidecars', w.key ? `key ${w.key}` : 'all keys'];
  const ops = w.backend === 'kask' && w.ops ? ` ${w.ops.join('/')}` : '';
  const p = w.p === undefined ? '' : ` p=${w.p}`;
  return `${w.backend} ${w.mode}${ops} for ${scope.join(', ')}${p}, ${w.from}–${w.to} ms`;
}
