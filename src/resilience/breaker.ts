// One backend's circuit breaker (opossum): while the backend is failing, calls end at once with a typed error
// instead of each waiting out its timeout, and one trial call per reset period finds out when it is back.
import CircuitBreaker from 'opossum';
import type { BreakerSettings } from '../config/schema.js';
import type { BreakerState } from '../ops/status-providers.js';
import type { Backend } from '../phases/observer.js';

/** Why a call never reached the backend. */
export type RefusalKind = 'open' | 'shutdown';

export interface BreakerOptions {
  name: Backend;
  settings: BreakerSettings;
  /** Only these errors count against the backend's health (a miss or a 4xx answer is the backend working). */
  isFailure: (err: unknown) => boolean;
  /** The backend's own typed error for a call the breaker refused. */
  refusal: (kind: RefusalKind) => Error;
  onStateChange: (state: BreakerState, detail: { failures: number; calls: number }) => void;
}

type Call = () => Promise<unknown>;

const OPOSSUM_CODES: Record<string, RefusalKind> = {
  EOPENBREAKER: 'open',
  ESHUTDOWN: 'shutdown',
  ESEMLOCKED: 'open',
};

export class Breaker {
  readonly name: Backend;
  readonly #cb: CircuitBreaker<[Call], unknown>;
  readonly #refusal: BreakerOptions['refusal'];

  constructor(opts: BreakerOptions) {
    this.name = opts.name;
    this.#refusal = opts.refusal;
    const s = opts.settings;
    this.#cb = new CircuitBreaker<[Call], unknown>((call: Call) => call(), {
      name: opts.name,
      // No per-call timer: every call already ends by its client's own deadline (the Kask pool's per-call deadline,
      // ioredis's command timeout), and a timer per call was half of what the breaker cost a request.
      timeout: false,
      errorThresholdPercentage: s.errorThresholdPercentage,
      volumeThreshold: s.volumeThreshold,
      rollingCountTimeout: s.rollingWindowMs,
      rollingCountBuckets: 10,
      resetTimeout: s.resetTimeoutMs,
      // Per-call latency lists are sorted on every failure when percentiles are on: not on a request path.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      errorFilter: (err: unknown) => !opts.isFailure(err),
    });
    const report = (state: BreakerState) => () => {
      const stats = this.#cb.stats;
      opts.onStateChange(state, { failures: stats.failures + stats.timeouts, calls: stats.fires });
    };
    this.#cb.on('open', report('open'));
    this.#cb.on('halfOpen', report('half_open'));
    this.#cb.on('close', report('closed'));
  }

  /** Runs `call` unless the breaker is open; its result or error is passed through unchanged. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return (await this.#cb.fire(call)) as T;
    } catch (err) {
      if (!(err instanceof Error) || !CircuitBreaker.isOurError(err)) throw err;
      const kind = OPOSSUM_CODES[String((err as { code?: unknown }).code)];
      throw kind ? this.#refusal(kind) : err;
    }
  }

  get state(): BreakerState {
    if (this.#cb.opened) return 'open';
    return this.#cb.halfOpen ? 'half_open' : 'closed';
  }

  /** Stops the breaker's timers; later calls fail with the `shutdown` refusal. */
  shutdown(): void {
    this.#cb.shutdown();
  }
}
