// Fault knobs for the emulator, so tests can make "Kask" slow, failing or hung on cue.

export interface FaultSettings {
  /** Extra delay before answering, in ms. */
  latencyMs: number;
  /**
   * Random delays of 0..jitterMs both before the store is touched and after (before the answer leaves), so
   * concurrent requests are applied and acknowledged in different orders, as across a real network.
   */
  jitterMs: number;
  /** Fraction (0..1) of requests answered with Kask's 500 problem. */
  errorRate: number;
  /** `hang`: never answer (the client's timeout must fire). */
  mode: 'normal' | 'hang';
  /** Only these methods are affected; empty = all. */
  methods: string[];
  /** Only requests for these keys (decoded, as UTF-8) are affected; empty = all. */
  keys: string[];
  /** Each key's requests fail at most this many times (counted from when the settings were set); 0 = no limit. */
  failuresPerKey: number;
}

export const NO_FAULTS: FaultSettings = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  mode: 'normal',
  methods: [],
  keys: [],
  failuresPerKey: 0,
});

export class Faults {
  #settings: FaultSettings = NO_FAULTS;
  /** Failures injected per key since the settings were set (only counted when failuresPerKey limits them). */
  #failed = new Map<string, number>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  get settings(): FaultSettings {
    return this.#settings;
  }

  set(partial: Partial<FaultSettings>): FaultSettings {
    this.#settings = Object.freeze({ ...NO_FAULTS, ...partial });
    this.#failed = new Map();
    return this.#settings;
  }

  #applies(method: string, key: Buffer): boolean {
    const s = this.#settings;
    if (s === NO_FAULTS || (s.methods.length > 0 && !s.methods.includes(method))) return false;
    return s.keys.length === 0 || s.keys.includes(key.toString('utf8'));
  }

  /** Resolves to true when this request must fail; never resolves for a hang. */
  async inject(method: string, key: Buffer): Promise<boolean> {
    const s = this.#settings;
    if (!this.#applies(method, key)) return false;
    if (s.mode === 'hang') return new Promise<boolean>(() => {});
    const delay = s.latencyMs + (s.jitterMs > 0 ? this.#random() * s.jitterMs : 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (!(s.errorRate > 0 && this.#random() < s.errorRate)) return false;
    if (s.failuresPerKey <= 0) return true;
    const name = key.toString('latin1');
    const failed = this.#failed.get(name) ?? 0;
    if (failed >= s.failuresPerKey) return false;
    this.#failed.set(name, failed + 1);
    return true;
  }

  /** The answer's share of the jitter: the store has been touched, the client does not know yet. */
  async afterApply(method: string, key: Buffer): Promise<void> {
    const s = this.#settings;
    if (s.jitterMs <= 0 || !this.#applies(method, key)) return;
    await new Promise((resolve) => setTimeout(resolve, this.#random() * s.jitterMs));
  }
}
