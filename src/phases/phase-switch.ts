// Holds the phase in force. Switching swaps one reference: requests already running keep the phase they started in.
// A switch first lets the old phase's background work finish (docs/protocol.md, "The phase ladder").
import type { PhaseName } from '../config/schema.js';
import type { Phase } from './phase.js';

export interface PhaseSwitchHooks {
  /**
   * After the old phase is retired and before the new one serves: wait for the old phase's background work
   * (backfills, shadow reads) and stop what the new phase must not run (the repairer, entering kask-only).
   */
  settle?: (leaving: PhaseName, entering: PhaseName) => Promise<void>;
  /** The new phase serves (`leaving` is null at start-up and for a rebuild of the same phase). */
  onChange?: (name: PhaseName, leaving: PhaseName | null) => void;
}

export class PhaseSwitch {
  #current: Phase;
  readonly #build: (name: PhaseName) => Promise<Phase>;
  readonly #hooks: PhaseSwitchHooks;

  constructor(initial: Phase, build: (name: PhaseName) => Promise<Phase>, hooks: PhaseSwitchHooks = {}) {
    this.#current = initial;
    this.#build = build;
    this.#hooks = hooks;
    hooks.onChange?.(initial.name as PhaseName, null);
  }

  /** The strategy for a new request. */
  readonly current = (): Phase => this.#current;

  get name(): PhaseName {
    return this.#current.name as PhaseName;
  }

  /**
   * Builds the new phase first (opening connections it needs), then swaps; a failed build leaves the old phase.
   * `rebuild` builds even when the name is unchanged (its settings were reloaded).
   */
  async switchTo(name: PhaseName, opts: { rebuild?: boolean } = {}): Promise<void> {
    const leaving = this.name;
    if (name === leaving && !opts.rebuild) return;
    const next = await this.#build(name);
    // The old phase keeps serving while it settles, but starts nothing new in the background: a backfill it began
    // must not land after the next phase (or a neighbour host in the next-but-one) has taken over.
    this.#current.retire?.();
    if (name !== leaving) await this.#hooks.settle?.(leaving, name);
    this.#current = next;
    this.#hooks.onChange?.(name, name === leaving ? null : leaving);
  }
}
