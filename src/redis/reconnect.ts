// When a lost Redis connection is tried again: both of a store's connections (ioredis and the lean data-path one)
// follow this schedule, so they come back together.

/**
 * The longest wait between attempts. The data path's connection is dropped whenever a command outlives its timeout,
 * so during a long Redis stall every handshake times out and the backoff climbs to this cap: it bounds how long
 * writes keep failing after Redis answers again. At two attempts a second per connection, a Redis that is down sees
 * a few connects per second from each host.
 */
export const RECONNECT_MAX_DELAY_MS = 500;

/** The wait before reconnect attempt `attempt` (1 for the first after a loss): 50 ms, doubling up to the cap. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(Math.max(attempt - 1, 0), 10), RECONNECT_MAX_DELAY_MS);
}
