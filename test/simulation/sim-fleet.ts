// The fleet registry, simulated at the interface the phase guard talks to (FleetGuard, src/ops/phase-control.ts),
// with the ladder's real rules (src/fleet/ladder.ts): a claim checks every other sidecar's phase (and the phase it
// is still settling) and records this one's, as one atomic step on the simulated Redis, as the real claim is one
// script. The script itself runs against a real redis-server in test/ops/admin-api.test.ts and
// test/resilience/failure-findings.test.ts. Members never expire here: every simulated sidecar is alive or restarting.
import { PHASE_NAMES, type PhaseName } from '../../src/config/schema.js';
import { compatiblePhases, REDIS_TRUSTING_PHASES } from '../../src/fleet/ladder.js';
import type { FleetGuard } from '../../src/ops/phase-control.js';
import type { Caller, SimRedis } from './sim-redis.js';

interface Member {
  phase: PhaseName;
  settling: PhaseName | null;
  settlesAt: number;
}

export class SimFleet {
  readonly members = new Map<string, Member>();
  kaskOnlyEntered = false;

  constructor(
    readonly redis: SimRedis,
    /** How long requests of a phase being left may still run: the request deadline plus the sidecar's margin. */
    readonly settleMs: number,
  ) {}

  #phasesOf(m: Member): PhaseName[] {
    return m.settling !== null && m.settlesAt > this.redis.sched.now() ? [m.phase, m.settling] : [m.phase];
  }

  /** A sidecar starts (or restarts) in `phase`. */
  join(name: string, phase: PhaseName): void {
    this.members.set(name, { phase, settling: null, settlesAt: 0 });
    if (phase === 'kask-only') this.kaskOnlyEntered = true;
  }

  /** The guard one sidecar's PhaseControl uses. */
  guard(
    caller: Caller,
    current: () => PhaseName,
  ): FleetGuard & { changed(to: PhaseName, from: PhaseName | null): void } {
    const name = caller.name;
    const record = (phase: PhaseName, leaving: PhaseName | null) => {
      this.members.set(name, {
        phase,
        settling: leaving,
        settlesAt: leaving === null ? 0 : this.redis.sched.now() + this.settleMs,
      });
    };
    return {
      claim: (from, to, force) =>
        this.redis
          .call({
            caller,
            label: `FLEET CLAIM ${name} ${from}→${to}${force ? ' (forced)' : ''}`,
            key: null,
            write: false,
            apply: (): string | null => {
              if (!force && REDIS_TRUSTING_PHASES.includes(to) && this.kaskOnlyEntered)
                return `${to} refused: a host has run kask-only`;
              const allowed = force ? PHASE_NAMES : compatiblePhases(to);
              const offenders = [...this.members]
                .filter(([other]) => other !== name)
                .filter(([, m]) => this.#phasesOf(m).some((p) => !allowed.includes(p)))
                .map(([other, m]) => `${other} (${this.#phasesOf(m).join(', settling ')})`);
              if (offenders.length > 0) return `${to} refused: ${offenders.join(', ')}`;
              record(to, from === to ? null : from);
              if (to === 'kask-only') this.kaskOnlyEntered = true;
              return null;
            },
          })
          .catch((err: unknown) =>
            force ? null : `cannot read the fleet registry (${(err as Error).message})`,
          ),
      restore: () => record(current(), null),
      changed: (to, from) => record(to, from),
    };
  }
}
