// One sidecar's part in the fleet: its heartbeat in the registry, the fleet gauge, and the fleet half of the phase
// guard (ops/phase-control.ts asks it before any change).
import { PHASE_NAMES, type PhaseName } from '../config/schema.js';
import type { RedisStore } from '../redis/store.js';
import { compatiblePhases, REDIS_TRUSTING_PHASES } from './ladder.js';
import type { FleetMember, FleetRegistry, KaskOnlyMarker } from './registry.js';

/** The sidecar's Redis, opened lazily: `open()` connects if needed, `opened()` never does. */
export interface FleetRedis {
  open(): Promise<RedisStore>;
  opened(): Promise<RedisStore> | null;
}

export interface FleetOptions {
  registry: FleetRegistry;
  redis: FleetRedis;
  heartbeatIntervalMs: number;
}

export interface FleetView {
  instance: string;
  members: FleetMember[];
  kask_only_entered: KaskOnlyMarker | null;
}

export class Fleet {
  readonly #o: FleetOptions;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: FleetOptions) {
    this.#o = opts;
  }

  /** Publishes the phase in force now and then every heartbeat interval (whenever a Redis connection is open). */
  start(): void {
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#o.heartbeatIntervalMs);
    this.#timer.unref();
  }

  /** The phase in force changed (after a claim, or back to the actual phase after a failed switch). */
  phaseChanged(phase: PhaseName, leaving: PhaseName | null): void {
    this.#o.registry.setPhase(phase, leaving);
    void this.beat();
  }

  restore(): void {
    void this.beat();
  }

  async beat(): Promise<void> {
    const open = this.#o.redis.opened();
    if (open === null) return;
    // One HSET: a heartbeat must stay cheap for the one Redis every sidecar of the fleet shares.
    try {
      await this.#o.registry.publish(await open);
    } catch {
      // Redis is away: the record expires, which is what other sidecars should see. Readiness reports Redis.
    }
  }

  /**
   * The fleet half of the guard: claims `to` in the registry, or says why not. Forced, it still records the change
   * (so the fleet view stays true) but checks nothing.
   */
  async claim(from: PhaseName, to: PhaseName, force: boolean): Promise<string | null> {
    let redis: RedisStore;
    try {
      redis = await this.#o.redis.open();
    } catch (err) {
      if (force) return null;
      return `cannot reach Redis to read the fleet registry (${(err as Error).message}); force the change if you must`;
    }
    const allowed = force ? PHASE_NAMES : compatiblePhases(to);
    let result: Awaited<ReturnType<FleetRegistry['claim']>>;
    try {
      result = await this.#o.registry.claim(redis, from, to, allowed, {
        checkSticky: !force && REDIS_TRUSTING_PHASES.includes(to),
        setSticky: to === 'kask-only',
      });
    } catch (err) {
      if (force) return null;
      return `cannot read the fleet registry (${(err as Error).message}); force the change if you must`;
    }
    if (result.kind === 'claimed') return null;
    if (result.kind === 'sticky') {
      const since = result.marker ? ` (since ${result.marker.entered_at}, by ${result.marker.instance})` : '';
      return `${to} refused: a host has run kask-only${since}, so Redis misses writes and ${to} would trust it; to go back anyway, force the change (docs/runbook.md, "Rolling back")`;
    }
    const list = result.offenders.map((m) => `${m.instance} (${describePhase(m)})`).join(', ');
    return `${to} refused: live sidecars run phases that must not share a fleet with ${to} (only ${compatiblePhases(to).join(', ')} may): ${list}; move them first (kask-migration-proxy phase status --fleet)`;
  }

  /** The registry as Redis holds it, over this sidecar's own connection (it never opens one for this). */
  async view(): Promise<FleetView> {
    const open = this.#o.redis.opened();
    if (open === null)
      throw new Error(
        'this sidecar keeps no Redis connection (started in kask-only): ask a sidecar in another phase, or read the hash kmp:{fleet}:members with redis-cli',
      );
    const redis = await open;
    const [members, marker] = await Promise.all([
      this.#o.registry.members(redis),
      this.#o.registry.kaskOnlyMarker(redis),
    ]);
    return { instance: this.#o.registry.instance, members, kask_only_entered: marker };
  }

  /**
   * At start-up a sidecar takes the phase its config names, with no guard in the way: say so when the fleet says that
   * is unsafe (non-neighbours running, or Redis stale after kask-only). Returns the problems found (none: []).
   */
  async startupProblems(phase: PhaseName): Promise<string[]> {
    const open = this.#o.redis.opened();
    if (open === null) return [];
    const redis = await open;
    const [members, marker] = await Promise.all([
      this.#o.registry.members(redis),
      this.#o.registry.kaskOnlyMarker(redis),
    ]);
    const allowed = compatiblePhases(phase);
    const problems = members
      .filter((m) => m.instance !== this.#o.registry.instance)
      .filter((m) => !allowed.includes(m.phase) || (m.settling !== null && !allowed.includes(m.settling)))
      .map((m) => `${m.instance} runs ${m.settling ? `${m.phase} (settling ${m.settling})` : m.phase}`);
    if (marker !== null && REDIS_TRUSTING_PHASES.includes(phase))
      problems.push(
        `a host has run kask-only (since ${marker.entered_at}), so Redis misses writes that ${phase} trusts`,
      );
    return problems;
  }

  /** Stops the heartbeat and removes this member's record. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const open = this.#o.redis.opened();
    if (open === null) return;
    try {
      await this.#o.registry.leave(await open);
    } catch {
      // it expires on its own
    }
  }
}

function describePhase(m: FleetMember): string {
  return m.settling ? `${m.phase}, still settling ${m.settling}` : m.phase;
}
