// A seeded PRNG and a discrete-event scheduler on a virtual clock. Every store call a sidecar makes becomes a pending
// event; the scheduler fires one enabled event at a time (picked by the PRNG), then lets the real async code run
// until it blocks on its next store call. With nothing enabled, virtual time jumps to the next timer. The real
// code's Date.now()/setTimeout/setInterval run on a virtual clock (virtual-clock.ts), so settle times, quiet
// windows and intervals are virtual too; setImmediate stays real and is how microtasks are drained. Same seed, same
// run, event for event.
import { VirtualClock } from './virtual-clock.js';

/** mulberry32: small, fast, good enough to pick interleavings; the whole state is one 32-bit word. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }
}

/** The virtual wall clock every run starts at (Date.now() inside the run). */
export const EPOCH_MS = Date.UTC(2026, 10, 1, 0, 0, 0);

interface PendingEvent {
  actor: string;
  label: string;
  /** Left out of printed traces (idle polling), still part of the replayed trace. */
  quiet: boolean;
  fire: () => void;
}

export type RunEnd = 'done' | 'time_limit' | 'idle';

export class Scheduler {
  readonly rng: Rng;
  /** Every fired event and every logged step, with its virtual time: equal for equal seeds. */
  readonly trace: string[] = [];
  readonly #quietLines = new Set<number>();
  #enabled: PendingEvent[] = [];
  #timed = 0;
  readonly #clock = new VirtualClock(EPOCH_MS);

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
  }

  /** Makes Date and the timer functions virtual, starting at EPOCH_MS. */
  install(): void {
    this.#clock.install();
  }

  uninstall(): void {
    this.#clock.uninstall();
  }

  /** Virtual milliseconds since the run began. */
  now(): number {
    return this.#clock.now - EPOCH_MS;
  }

  /** An event that becomes enabled `delayMs` from now and fires when the scheduler picks it. */
  schedule(delayMs: number, actor: string, label: string, fire: () => void, quiet = false): void {
    const event: PendingEvent = { actor, label, quiet, fire };
    if (delayMs <= 0) {
      this.#enabled.push(event);
      return;
    }
    this.#timed++;
    setTimeout(() => {
      this.#timed--;
      this.#enabled.push(event);
    }, delayMs);
  }

  /** Events scheduled but not fired yet. */
  get pending(): number {
    return this.#enabled.length + this.#timed;
  }

  log(actor: string, text: string, quiet = false): void {
    if (quiet) this.#quietLines.add(this.trace.length);
    this.trace.push(`${formatTime(this.now())} ${actor.padEnd(7)} ${text}`);
  }

  /** Lets the real code run until every promise chain waits on a store call or a timer. */
  async settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * Fires events until `done()` holds (checked between events), virtual time passes `limitMs` (absolute, since the
   * run began), or nothing can ever happen again.
   */
  async run(done: () => boolean, limitMs: number): Promise<RunEnd> {
    for (;;) {
      await this.settle();
      if (done()) return 'done';
      if (this.#enabled.length > 0) {
        const index = this.rng.int(this.#enabled.length);
        const [event] = this.#enabled.splice(index, 1);
        this.log(event!.actor, event!.label, event!.quiet);
        event!.fire();
        continue;
      }
      const next = this.#clock.nextAt();
      if (next === null) return 'idle';
      if (next - EPOCH_MS > limitMs) return 'time_limit';
      this.#clock.fireNext();
    }
  }

  /** The trace without idle polling, the last `max` lines, for a failure report. */
  printable(max = 400): string {
    const lines = this.trace.filter((_, i) => !this.#quietLines.has(i));
    const cut = lines.length > max ? [`… ${lines.length - max} earlier lines left out`] : [];
    return [...cut, ...lines.slice(-max)].join('\n');
  }
}

function formatTime(ms: number): string {
  return `${(ms / 1000).toFixed(3).padStart(8)}s`;
}
