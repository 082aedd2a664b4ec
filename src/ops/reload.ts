// Applies a re-read config to a running sidecar (SIGHUP): the phase through the guard, then the other reloadable
// settings, all or nothing; keys that need a restart are named in the log, never their values.
import { diffConfig, type LiveConfig, mergeReloadable } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import type { Logger } from './logging.js';
import type { PhaseControl } from './phase-control.js';

/** What a reload did, as a value (also logged). */
export type ReloadResult =
  | { kind: 'applied'; changed: string[]; needsRestart: string[] }
  | { kind: 'rejected'; reason: string };

/** The running state a reload changes. */
export interface ReloadTarget {
  live: LiveConfig;
  control: PhaseControl;
  logger: Logger;
}

/**
 * The file's phase is authoritative: after a reload the phase in force is the file's (a phase set through the
 * admin API lasts until the next reload or restart). Entering kask-only obeys the guard and cannot be forced here.
 */
export async function applyReload(target: ReloadTarget, next: Config): Promise<ReloadResult> {
  const { live, control, logger } = target;
  const running = live.config;
  const diff = diffConfig(running, next);
  const merged = mergeReloadable(running, next);
  const phaseChanges = control.phase !== next.phase;
  if (phaseChanges || diff.rebuild) {
    live.config = merged;
    const change = await control.request({
      to: next.phase,
      force: false,
      source: 'sighup',
      rebuild: diff.rebuild,
    });
    if (change.kind === 'refused' || change.kind === 'failed') {
      live.config = running;
      return reject(logger, change.reason);
    }
  }
  live.config = merged;
  logger.level = merged.logging.level;
  const changed = phaseChanges ? ['phase', ...diff.reloadable] : diff.reloadable;
  logger.info(
    { 'event.action': 'config.reload', 'event.outcome': 'success', 'kmp.changed': changed },
    changed.length > 0 ? `config reloaded: ${changed.join(', ')}` : 'config reloaded: nothing changed',
  );
  if (diff.needsRestart.length > 0)
    logger.warn(
      { 'event.action': 'config.reload', 'kmp.needs_restart': diff.needsRestart },
      `config changes that need a restart (not applied): ${diff.needsRestart.join(', ')}`,
    );
  return { kind: 'applied', changed, needsRestart: diff.needsRestart };
}

/** Logs why a reload was not applied; the running config stays. */
export function reject(logger: Logger, reason: string): ReloadResult {
  logger.error(
    { 'event.action': 'config.reload', 'event.outcome': 'failure', 'event.reason': reason },
    `config reload rejected, keeping the running config: ${reason}`,
  );
  return { kind: 'rejected', reason };
}
