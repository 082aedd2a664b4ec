// Every phase change (admin API, SIGHUP) goes through here: one at a time, in order, behind the phase guard.

import { PHASE_NAMES, type PhaseName } from '../config/schema.js';
import type { MarkerRead } from '../fleet/completion-marker.js';
import { COMPLETION_MARKER_KEY } from '../fleet/completion-marker.js';
import { compatiblePhases, rung, stopsReadingRedis } from '../fleet/ladder.js';
import type { PhaseSwitch } from '../phases/phase-switch.js';
import { errorFields, type Logger } from './logging.js';

/** Who asked for a change (logged as `kmp.source`). */
export type PhaseChangeSource = 'admin' | 'sighup';

/** One requested change. */
export interface PhaseRequest {
  to: PhaseName;
  /** Skip the guard: the completion marker, the repair queue and the fleet check. */
  force: boolean;
  source: PhaseChangeSource;
  /** Rebuild the strategy even if the name is unchanged (its settings were reloaded). */
  rebuild?: boolean;
}

/** The outcome of a request, as a value: the admin API maps it to 200/409/500, a reload to applied/rejected. */
export type PhaseChange =
  | { kind: 'changed'; from: PhaseName; to: PhaseName; forced: boolean }
  | { kind: 'unchanged'; phase: PhaseName }
  | { kind: 'refused'; from: PhaseName; to: PhaseName; reason: string }
  | { kind: 'failed'; from: PhaseName; to: PhaseName; reason: string };

/**
 * One rung at a time, on this host as in the fleet: requests of the old phase still run while the new one serves,
 * so the two must be neighbours.
 */
function stepRefusal(from: PhaseName, to: PhaseName): string | null {
  if (Math.abs(rung(to) - rung(from)) <= 1) return null;
  const next = compatiblePhases(from).filter((p) => p !== from);
  return `${to} refused: phases change one rung of the ladder at a time (${PHASE_NAMES.join(' → ')}); from ${from} the next step is ${next.join(' or ')}`;
}

/** What the guard needs from the fleet registry. */
export interface FleetGuard {
  /** Claims `to` in the registry (this member's record then says `to`), or returns why not. */
  claim(from: PhaseName, to: PhaseName, force: boolean): Promise<string | null>;
  /** Publishes the phase actually in force again (after a claimed change failed). */
  restore(): void;
}

const NO_FLEET: FleetGuard = { claim: async () => null, restore: () => {} };

/** Serialises phase changes and applies the phase guard before building the new phase. */
export class PhaseControl {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly phases: PhaseSwitch,
    readonly readMarker: () => Promise<MarkerRead>,
    readonly logger: Logger,
    /** Keys waiting for repair (null = unknown): nothing repairs in kask-only, so they must drain first. */
    readonly readRepairDepth: () => Promise<number | null> = async () => null,
    /** The fleet half of the guard (src/fleet/fleet.ts); none in unit tests of the local rules. */
    readonly fleet: FleetGuard = NO_FLEET,
    /**
     * How long requests of a phase just left may still run (the request deadline and a margin): until then this
     * host counts as running both, so it takes no further step (two steps at once would put non-neighbours on it).
     */
    readonly settleMs = 0,
    readonly now: () => number = Date.now,
  ) {}

  /** Until when this host may still be serving requests of the phase it left last. */
  #settlingUntil = 0;
  #settling: PhaseName | null = null;

  get phase(): PhaseName {
    return this.phases.name;
  }

  /** Queued behind any change in progress, so concurrent requests apply in arrival order. */
  request(req: PhaseRequest): Promise<PhaseChange> {
    const next = this.#queue.then(() => this.#apply(req));
    this.#queue = next.catch(() => {});
    return next;
  }

  /**
   * Why entering `to` is refused, or null when it is allowed (docs/protocol.md, "The phase ladder"): leaving the
   * phases that read Redis needs the bulk copy's completion marker; kask-only needs an empty repair queue (nothing
   * repairs there); and the fleet must hold only neighbours of `to` (checked and claimed last, atomically).
   */
  async refusal(to: PhaseName, force: boolean): Promise<string | null> {
    const from = this.phase;
    if (!force) {
      const local =
        stepRefusal(from, to) ??
        (await this.#markerRefusal(from, to)) ??
        (await this.#repairRefusal(to)) ??
        this.#settlingRefusal(to);
      if (local !== null) return local;
    }
    return this.fleet.claim(from, to, force);
  }

  #settlingRefusal(to: PhaseName): string | null {
    const left = this.#settlingUntil - this.now();
    if (left <= 0 || this.#settling === null || compatiblePhases(to).includes(this.#settling)) return null;
    return `${to} refused: requests of ${this.#settling} may still be running here for ${Math.ceil(left)} ms (one request deadline after the last change); try again then`;
  }

  async #markerRefusal(from: PhaseName, to: PhaseName): Promise<string | null> {
    if (stopsReadingRedis(from) || !stopsReadingRedis(to)) return null;
    const marker = await this.readMarker();
    if (marker.kind === 'present') return null;
    const fix = 'finish the bulk copy (kask-migration-proxy copy) or force the change';
    const why = `${to} refused: it stops reading Redis, so keys the bulk copy has not copied would be lost`;
    if (marker.kind === 'absent')
      return `${why}, and the bulk copy has not recorded completion (Redis key ${COMPLETION_MARKER_KEY} is absent); ${fix}`;
    if (marker.kind === 'invalid') return `${why}: ${marker.reason}; ${fix}`;
    return `${why}: cannot read the completion marker (${marker.reason}); ${fix}`;
  }

  async #repairRefusal(to: PhaseName): Promise<string | null> {
    if (to !== 'kask-only' || this.phase === 'kask-only') return null;
    const depth = await this.readRepairDepth();
    if (!depth) return null;
    return `kask-only refused: ${depth} key(s) still wait in the repair queue and nothing repairs in kask-only; let the repairer drain it (kmp_repair_queue_depth, admin /status) or force the change`;
  }

  async #apply(req: PhaseRequest): Promise<PhaseChange> {
    const from = this.phase;
    if (from === req.to && !req.rebuild) return { kind: 'unchanged', phase: from };
    // A reload of the phase in force changes settings only: nothing for the guard to check.
    const reason = from === req.to ? null : await this.refusal(req.to, req.force);
    const fields = { 'event.action': 'phase.change', 'kmp.phase': req.to, 'kmp.phase_from': from };
    if (reason !== null) {
      this.logger.warn({ ...fields, 'event.outcome': 'refused', 'event.reason': reason }, reason);
      return { kind: 'refused', from, to: req.to, reason };
    }
    try {
      await this.phases.switchTo(req.to, { rebuild: req.rebuild ?? false });
    } catch (err) {
      this.logger.error(
        { ...fields, 'event.outcome': 'failure', ...errorFields(err) },
        'phase change failed',
      );
      this.fleet.restore(); // the registry was told `to` when the change was claimed
      return { kind: 'failed', from, to: req.to, reason: (err as Error).message };
    }
    const forced = req.force;
    this.logger[forced ? 'warn' : 'info'](
      { ...fields, 'event.outcome': 'success', 'kmp.source': req.source, 'kmp.forced': forced },
      `phase changed from ${from} to ${req.to} (${req.source}${forced ? ', forced' : ''})`,
    );
    if (from !== req.to) {
      this.#settling = from;
      this.#settlingUntil = this.now() + this.settleMs;
    }
    return { kind: 'changed', from, to: req.to, forced };
  }
}
