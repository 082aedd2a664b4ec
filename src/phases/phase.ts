// The seam between the Kask-compatible front and the stores: each phase (and the emulator) is one strategy.
import type { PhaseName } from '../config/schema.js';

/** What a request carries beyond key and value: correlation ids, forwarded to Kask and put on log lines. */
export interface RequestMeta {
  requestId: string;
  /** `X-Request-Id`, `traceparent`, `tracestate` as received (only those present). */
  forward: Record<string, string>;
}

export type ReadOutcome = { kind: 'hit'; value: Buffer } | { kind: 'miss' } | { kind: 'error' };
export type WriteOutcome = { kind: 'ok' } | { kind: 'error' };

/**
 * A request strategy. The front resolves the current strategy once per request, so a phase flip never mixes two
 * phases inside one request. Outcomes are values: the front maps hit/miss/ok/error to Kask's 200/404/201|204/500.
 */
export interface Phase {
  readonly name: PhaseName | 'emulator';
  get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome>;
  set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome>;
  delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome>;
  /**
   * Another phase has taken over: start no more background work (backfills, shadow reads). Requests already
   * running finish under this phase.
   */
  retire?(): void;
}

export const HIT = (value: Buffer): ReadOutcome => ({ kind: 'hit', value });
export const MISS: ReadOutcome = Object.freeze({ kind: 'miss' });
export const READ_ERROR: ReadOutcome = Object.freeze({ kind: 'error' });
export const WRITE_OK: WriteOutcome = Object.freeze({ kind: 'ok' });
export const WRITE_ERROR: WriteOutcome = Object.freeze({ kind: 'error' });
