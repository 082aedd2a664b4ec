// A token bucket: the repairer's keys-per-second limit, so a long queue drains without hammering a recovering Kask.

export class TokenBucket {
  #tokens: number;
  #last: number;

  /** Refills `perSecond` tokens a second, holding at most one second's worth. */
  constructor(
    readonly perSecond: number,
    readonly now: () => number = Date.now,
  ) {
    this.#tokens = perSecond;
    this.#last = now();
  }

  /** Takes up to `wanted` whole tokens; returns how many it got (0 when empty). */
  take(wanted: number): number {
    const t = this.now();
    this.#tokens = Math.min(this.perSecond, this.#tokens + ((t - this.#last) / 1000) * this.perSecond);
    this.#last = t;
    const got = Math.min(wanted, Math.floor(this.#tokens));
    this.#tokens -= got;
    return got;
  }

  /** Gives back tokens taken but not used. */
  refund(count: number): void {
    this.#tokens = Math.min(this.perSecond, this.#tokens + count);
  }
}
