// How fast the copy may go: a token bucket for `--rate`, and an adaptive limit on concurrent keys that halves
// when Kask errors or its latency climbs well above what it was when healthy (pausing, with exponential backoff,
// while errors persist) and grows back step by step once Kask is healthy again.
import { setTimeout as sleep } from 'node:timers/promises';
import { TokenBucket } from '../resilience/token-bucket.js';

/** Waits for a token of a keys-per-second budget; no limit when `perSecond` is 0. */
export class RateLimiter {
  readonly #bucket: TokenBucket | null;

  constructor(perSecond: number) {
    this.#bucket = perSecond > 0 ? new TokenBucket(perSecond) : null;
  }

  /** Takes a token if one is there now (always, without a limit): the common case costs no promise. */
  tryAcquire(): boolean {
    const bucket = this.#bucket;
    return bucket === null || bucket.take(1) > 0;
  }

  async acquire(): Promise<void> {
    const bucket = this.#bucket;
    if (!bucket) return;
    while (bucket.take(1) === 0) await sleep(Math.max(1, Math.ceil(1000 / bucket.perSecond)));
  }
}

export interface PacerOptions {
  maxConcurrency: number;
  /** Calls per evaluation window (also evaluated once a second, whichever comes first). */
  windowCalls?: number;
  /** Error share of a window that counts as Kask failing. */
  errorShare?: number;
  /** Latency (window mean) above `slowFactor` × the healthy baseline, and at least `slowFloorMs` above it. */
  slowFactor?: number;
  slowFloorMs?: number;
  basePauseMs?: number;
  maxPauseMs?: number;
  now?: () => number;
}

export type PacerState = 'healthy' | 'slow' | 'failing';

export class Pacer {
  #limit: number;
  #state: PacerState = 'healthy';
  #calls = 0;
  #errors = 0;
  #latencySum = 0;
  #windowStart: number;
  /** The lowest healthy window mean seen: what "normal" latency is for this Kask. */
  #baselineMs = Number.POSITIVE_INFINITY;
  #pauseUntil = 0;
  #failingWindows = 0;
  /** When Kask last answered a call successfully. */
  lastSuccessMs: number;
  readonly #o: Required<PacerOptions>;

  constructor(opts: PacerOptions) {
    this.#o = {
      windowCalls: 200,
      errorShare: 0.2,
      slowFactor: 4,
      slowFloorMs: 200,
      basePauseMs: 500,
      maxPauseMs: 30_000,
      now: Date.now,
      ...opts,
    };
    this.#limit = opts.maxConcurrency;
    this.#windowStart = this.#o.now();
    this.lastSuccessMs = this.#windowStart;
  }

  /** Keys that may be in flight now. */
  get limit(): number {
    return this.#limit;
  }

  get state(): PacerState {
    return this.#state;
  }

  /** A backoff pause is on: `ready()` would wait. */
  get paused(): boolean {
    return this.#pauseUntil > this.#o.now();
  }

  /** Resolves once any backoff pause is over. */
  async ready(): Promise<void> {
    for (;;) {
      const wait = this.#pauseUntil - this.#o.now();
      if (wait <= 0) return;
      await sleep(Math.min(wait, 1000));
    }
  }

  /** Told the outcome and duration of every Kask call. */
  observe(ok: boolean, latencyMs: number): void {
    this.#calls++;
    if (ok) {
      this.#latencySum += latencyMs;
      this.lastSuccessMs = this.#o.now();
    } else this.#errors++;
    const now = this.#o.now();
    if (this.#calls >= this.#o.windowCalls || now - this.#windowStart >= 1000) this.#evaluate(now);
  }

  #evaluate(now: number): void {
    const { maxConcurrency, errorShare, slowFactor, slowFloorMs, basePauseMs, maxPauseMs } = this.#o;
    const okCalls = this.#calls - this.#errors;
    const mean = okCalls > 0 ? this.#latencySum / okCalls : Number.POSITIVE_INFINITY;
    const failing = this.#errors / this.#calls > errorShare;
    const slow = !failing && mean > Math.max(this.#baselineMs * slowFactor, this.#baselineMs + slowFloorMs);
    if (failing) {
      this.#state = 'failing';
      this.#limit = Math.max(1, Math.floor(this.#limit / 2));
      this.#pauseUntil = now + Math.min(maxPauseMs, basePauseMs * 2 ** this.#failingWindows);
      this.#failingWindows++;
    } else if (slow) {
      this.#state = 'slow';
      this.#limit = Math.max(1, Math.floor(this.#limit / 2));
      this.#failingWindows = 0;
    } else {
      this.#state = 'healthy';
      this.#failingWindows = 0;
      if (okCalls >= 10) this.#baselineMs = Math.min(this.#baselineMs, mean);
      this.#limit = Math.min(maxConcurrency, this.#limit + Math.max(1, Math.ceil(maxConcurrency / 8)));
    }
    this.#calls = 0;
    this.#errors = 0;
    this.#latencySum = 0;
    this.#windowStart = now;
  }
}
