// Holds the phase in force. Switching swaps one reference: requests already running keep the phase they started in.
import type { PhaseName } from '../config/schema.js';
import type { Phase } from './phase.js';

export class PhaseSwitch {
  #current: Phase;
  readonly #build: (name: PhaseName) => Promise<Phase>;
  readonly #onChange: (name: PhaseName) => void;

  constructor(
    initial: Phase,
    build: (name: PhaseName) => Promise<Phase>,
    onChange: (name: PhaseName) => void = () => {},
  ) {
    this.#current = initial;
    this.#build = build;
    this.#onChange = onChange;
    onChange(initial.name as PhaseName);
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
    if (name === this.#current.name && !opts.rebuild) return;
    const next = await this.#build(name);
    this.#current = next;
    this.#onChange(name);
  }
}
