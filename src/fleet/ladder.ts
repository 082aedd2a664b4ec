// The phase ladder's rules as pure functions (docs/protocol.md, "The phase ladder"): which phases may share a fleet,
// and what entering a phase requires. The guard (ops/phase-control.ts) and the registry script both follow them.
import { PHASE_NAMES, type PhaseName } from '../config/schema.js';

export function rung(phase: PhaseName): number {
  return PHASE_NAMES.indexOf(phase);
}

/** Phases that may run on other hosts while this one runs `phase`: itself and its two neighbours. */
export function compatiblePhases(phase: PhaseName): PhaseName[] {
  const i = rung(phase);
  return PHASE_NAMES.filter((_, j) => Math.abs(j - i) <= 1);
}

/**
 * Phases that trust Redis as current (they read it, or re-derive Kask from it): once any host has written in
 * kask-only, Redis misses those writes, and going back to one of these would serve or copy stale data.
 */
export const REDIS_TRUSTING_PHASES: readonly PhaseName[] = ['dual-write', 'migration', 'kask-primary'];

/** Phases that no longer read Redis: entering one needs the bulk copy finished (keys never read are never backfilled). */
export function stopsReadingRedis(phase: PhaseName): boolean {
  return rung(phase) >= rung('kask-primary');
}
