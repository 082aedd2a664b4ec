// Deadlines shared in slots, checked by one sweep instead of a timer per call (docs/decisions/0004): the Kask pool
// and the lean Redis connection both time their calls this way.

/** Slot length, and how often a client's sweep runs: a call ends at most about this much after its deadline. */
export const SWEEP_MS = 25;

/**
 * Calls starting in the same sweep-long slot share one deadline, `timeoutMs` after the slot ends: a call is never cut
 * before its time, and calls started together end together. `now` is a performance.now() reading.
 */
export function slotDeadline(now: number, timeoutMs: number): number {
  return (Math.floor(now / SWEEP_MS) + 1) * SWEEP_MS + timeoutMs;
}
