// A virtual clock for the whole process while a run lasts: Date, setTimeout/clearTimeout and
// setInterval/clearInterval are replaced, so the real code's settle times, quiet windows, intervals and the circuit
// breakers' rolling windows run on virtual time. Time moves only when the scheduler fires the next timer.
// (vitest's fake timers do the same, but cost ~30 µs per step with a dozen timers pending; a run takes thousands.)
// setImmediate, queueMicrotask and process.nextTick stay real: the scheduler drains the real code with them.

interface Timer {
  id: number;
  at: number;
  /** Order of timers due at the same instant: creation order, as Node does. */
  seq: number;
  repeat: number | null;
  callback: (...args: unknown[]) => void;
  args: unknown[];
  handle: TimerHandle;
}

/** What Node's timer functions return; the real code calls unref() on some. */
class TimerHandle {
  constructor(
    readonly id: number,
    readonly refresh: () => TimerHandle,
  ) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

type Saved = Pick<
  typeof globalThis,
  'Date' | 'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval'
>;

export class VirtualClock {
  #now: number;
  /** Pending timers, sorted by (at, seq): few at a time, so a sorted array beats a heap. */
  #timers: Timer[] = [];
  #seq = 0;
  #saved: Saved | null = null;

  constructor(startMs: number) {
    this.#now = startMs;
  }

  get now(): number {
    return this.#now;
  }

  /** Timers pending. */
  get count(): number {
    return this.#timers.length;
  }

  install(): void {
    if (this.#saved) return;
    const g = globalThis;
    this.#saved = {
      Date: g.Date,
      setTimeout: g.setTimeout,
      clearTimeout: g.clearTimeout,
      setInterval: g.setInterval,
      clearInterval: g.clearInterval,
    };
    const clock = this;
    const RealDate = g.Date;
    class VirtualDate extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(clock.#now);
        else super(...(args as [string]));
      }
      static override now(): number {
        return clock.#now;
      }
    }
    const add = (callback: unknown, ms: unknown, repeat: boolean, args: unknown[]) =>
      this.#add(callback as Timer['callback'], Number(ms) || 0, repeat, args);
    const clear = (handle: unknown) => this.#clear(handle);
    Object.assign(g, {
      Date: VirtualDate,
      setTimeout: (cb: unknown, ms?: unknown, ...args: unknown[]) => add(cb, ms, false, args),
      setInterval: (cb: unknown, ms?: unknown, ...args: unknown[]) => add(cb, ms, true, args),
      clearTimeout: clear,
      clearInterval: clear,
    });
  }

  uninstall(): void {
    if (!this.#saved) return;
    Object.assign(globalThis, this.#saved);
    this.#saved = null;
    this.#timers = [];
  }

  /** Moves time to the earliest timer and runs it; false when none is pending. */
  fireNext(): boolean {
    const timer = this.#timers.shift();
    if (!timer) return false;
    this.#now = Math.max(this.#now, timer.at);
    if (timer.repeat !== null) this.#insert({ ...timer, at: this.#now + timer.repeat, seq: this.#seq++ });
    timer.callback(...timer.args);
    return true;
  }

  /** The time of the earliest timer, or null. */
  nextAt(): number | null {
    return this.#timers[0]?.at ?? null;
  }

  #add(callback: Timer['callback'], ms: number, repeat: boolean, args: unknown[]): TimerHandle {
    const delay = Math.max(1, Math.floor(ms));
    const id = ++this.#seq;
    const handle: TimerHandle = new TimerHandle(id, () => {
      const live = this.#timers.find((t) => t.handle === handle);
      if (live) {
        this.#remove(live);
        this.#insert({ ...live, at: this.#now + delay, seq: this.#seq++ });
      }
      return handle;
    });
    this.#insert({
      id,
      at: this.#now + delay,
      seq: id,
      repeat: repeat ? delay : null,
      callback,
      args,
      handle,
    });
    return handle;
  }

  #clear(handle: unknown): void {
    const id = typeof handle === 'number' ? handle : handle instanceof TimerHandle ? handle.id : null;
    const timer = this.#timers.find((t) => t.id === id);
    if (timer) this.#remove(timer);
  }

  #remove(timer: Timer): void {
    this.#timers.splice(this.#timers.indexOf(timer), 1);
  }

  #insert(timer: Timer): void {
    let i = this.#timers.length;
    while (i > 0) {
      const before = this.#timers[i - 1]!;
      if (before.at < timer.at || (before.at === timer.at && before.seq < timer.seq)) break;
      i--;
    }
    this.#timers.splice(i, 0, timer);
  }
}
