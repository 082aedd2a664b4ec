// Every phase change (admin API, SIGHUP) goes through here: one at a time, in order, behind the kask-only guard.
import type { MarkerRead } from '../bulk/completion-marker.js';
import { COMPLETION_MARKER_KEY } from '../bulk/completion-marker.js';
import type { PhaseName } from '../config/schema.js';
import type { PhaseSwitch } from '../phases/phase-switch.js';
import { errorFields, type Logger } from './logging.js';

/** Who asked for a change (logged as `kmp.source`). */
export type PhaseChangeSource = 'admin' | 'sighup';

/** One requested change. */
export interface PhaseRequest {
  to: PhaseName;
  /** Enter kask-only without the copy's completion marker. */
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

/** Serialises phase changes and applies the kask-only guard before building the new phase. */
export class PhaseControl {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly phases: PhaseSwitch,
    readonly readMarker: () => Promise<MarkerRead>,
    readonly logger: Logger,
    /** Keys waiting for repair (null = unknown): nothing repairs in kask-only, so they must drain first. */
    readonly readRepairDepth: () => Promise<number | null> = async () => null,
  ) {}

  get phase(): PhaseName {
    return this.phases.name;
  }

  /** Queued behind any change in progress, so concurrent requests apply in arrival order. */
  request(req: PhaseRequest): Promise<PhaseChange> {
    const next = this.#queue.then(() => this.#apply(req));
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Why entering `to` is refused, or null when it is allowed. */
  async refusal(to: PhaseName, force: boolean): Promise<string | null> {
    if (to !== 'kask-only' || this.phase === 'kask-only' || force) return null;
    const marker = await this.readMarker();
    if (marker.kind === 'present') return this.#repairRefusal();
    const fix = 'finish the bulk copy (kask-migration-proxy copy) or force the change';
    if (marker.kind === 'absent')
      return `kask-only refused: the bulk copy has not recorded completion (Redis key ${COMPLETION_MARKER_KEY} is absent); ${fix}`;
    if (marker.kind === 'invalid') return `kask-only refused: ${marker.reason}; ${fix}`;
    return `kask-only refused: cannot read the completion marker (${marker.reason}); ${fix}`;
  }

  async #repairRefusal(): Promise<string | null> {
    const depth = await this.readRepairDepth();
    if (!depth) return null;
    return `kask-only refused: ${depth} key(s) still wait in the repair queue and nothing repairs in kask-only; let the repairer drain it (kmp_repair_queue_depth, admin /status) or force the change`;
  }

  async #apply(req: PhaseRequest): Promise<PhaseChange> {
    const from = this.phase;
    if (from === req.to && !req.rebuild) return { kind: 'unchanged', phase: from };
    const reason = await this.refusal(req.to, req.force);
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
      return { kind: 'failed', from, to: req.to, reason: (err as Error).message };
    }
    const forced = req.force && req.to === 'kask-only' && from !== 'kask-only';
    this.logger[forced ? 'warn' : 'info'](
      { ...fields, 'event.outcome': 'success', 'kmp.source': req.source, 'kmp.forced': forced },
      `phase changed from ${from} to ${req.to} (${req.source}${forced ? ', forced' : ''})`,
    );
    return { kind: 'changed', from, to: req.to, forced };
  }
}
