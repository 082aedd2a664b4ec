// Per-call deadlines without a timer per call: calls starting in the same short slot share one AbortSignal, aborted
// `deadlineMs` after the slot ends. A call is never cut before its deadline and at most one slot after it.
// (AbortSignal.timeout per call costs ~7 µs of CPU; a shared signal costs next to nothing.)
import { setMaxListeners } from 'node:events';

const SLOT_MS = 25;

export class DeadlineSignals {
  #slot = -1;
  #signal: AbortSignal | null = null;

  constructor(readonly deadlineMs: number) {}

  /** The signal for a call starting now. Its abort reason is a `TimeoutError` DOMException, as AbortSignal.timeout's. */
  current(): AbortSignal {
    const now = performance.now();
    const slot = Math.floor(now / SLOT_MS);
    if (slot !== this.#slot || this.#signal === null) {
      const controller = new AbortController();
      // Every call of the slot listens on it; that is expected, not a leak.
      setMaxListeners(0, controller.signal);
      const abortIn = (slot + 1) * SLOT_MS - now + this.deadlineMs;
      setTimeout(
        () => controller.abort(new DOMException('Kask call deadline passed', 'TimeoutError')),
        abortIn,
      ).unref();
      this.#slot = slot;
      this.#signal = controller.signal;
    }
    return this.#signal;
  }
}
