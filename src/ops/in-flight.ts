// Counts requests still being answered, so /status can show them and shutdown can report what it waited for.

/** A plain counter fed by the data path's inFlight hook. */
export class InFlight {
  #count = 0;

  /** Called by the data path as a request starts (keep it allocation-free: it runs on every request). */
  readonly enter = (): void => {
    this.#count++;
  };

  /** Called once the response has finished or its connection has gone. */
  readonly leave = (): void => {
    this.#count--;
  };

  get count(): number {
    return this.#count;
  }
}
