// Caps how many lines a noisy event may log (shadow mismatches, refused admin calls): a few per interval, and
// the next line let through says how many were held back.

/** A fixed-window cap: `perInterval` lines per `intervalMs`. */
export class LogRateLimit {
  #windowStart = Number.NEGATIVE_INFINITY;
  #used = 0;
  #suppressed = 0;

  constructor(
    readonly perInterval: number,
    readonly intervalMs: number,
    readonly now: () => number = Date.now,
  ) {}

  /** null: drop this line. Otherwise log it, with the number of lines dropped since the last one logged. */
  take(): number | null {
    const t = this.now();
    if (t - this.#windowStart >= this.intervalMs) {
      this.#windowStart = t;
      this.#used = 0;
    }
    if (this.#used >= this.perInterval) {
      this.#suppressed++;
      return null;
    }
    this.#used++;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return suppressed;
  }
}
