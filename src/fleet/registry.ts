// The fleet registry: each sidecar publishes its phase (and host, version) in Redis with a heartbeat, so operators
// can see the fleet (`phase status --fleet`) and the phase guard can refuse a change that would put two
// non-neighbouring phases of the ladder in the fleet at once. A phase change is claimed with one script that checks
// every live member and writes this one's record together. While a switch settles (requests of the old phase may
// still be running), the record names both phases.
import { hostname } from 'node:os';
import type { PhaseName } from '../config/schema.js';
import type { RedisStore } from '../redis/store.js';
import { CLAIM_SCRIPT } from './registry-scripts.js';

/** A member's record, as stored (JSON, snake_case: operators read it with redis-cli). */
export interface FleetMember {
  instance: string;
  host: string;
  pid: number;
  version: string;
  phase: PhaseName;
  /** The phase this member is leaving; requests of it may still run until `settles_at_ms`. */
  settling: PhaseName | null;
  settles_at_ms: number;
  heartbeat_at_ms: number;
  expires_at_ms: number;
  started_at_ms: number;
}

/** Set (and never cleared by the sidecar) when a host first enters kask-only: from then on Redis misses writes. */
export interface KaskOnlyMarker {
  entered_at: string;
  instance: string;
}

export const FLEET_KEYS = {
  members: 'kmp:{fleet}:members',
  kaskOnlyEntered: 'kmp:{fleet}:kask-only-entered',
} as const;

export type ClaimResult =
  | { kind: 'claimed' }
  | { kind: 'fleet'; offenders: FleetMember[] }
  | { kind: 'sticky'; marker: KaskOnlyMarker | null };

export interface FleetRegistryOptions {
  instance: string;
  version: string;
  memberTtlMs: number;
  /** How long requests of an old phase may still run after a switch: the request deadline. */
  settleMs: number;
  now?: () => number;
}

export class FleetRegistry {
  readonly #o: FleetRegistryOptions;
  readonly #now: () => number;
  readonly #startedAt: number;
  #phase: PhaseName | null = null;
  #settling: PhaseName | null = null;
  #settlesAt = 0;

  constructor(opts: FleetRegistryOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  get instance(): string {
    return this.#o.instance;
  }

  /** This member's record as of now (the phase in force, and the one it is leaving while that settles). */
  record(): FleetMember | null {
    if (this.#phase === null) return null;
    const now = this.#now();
    const settling = this.#settlesAt > now ? this.#settling : null;
    return {
      instance: this.#o.instance,
      host: hostname(),
      pid: process.pid,
      version: this.#o.version,
      phase: this.#phase,
      settling,
      settles_at_ms: settling === null ? 0 : this.#settlesAt,
      heartbeat_at_ms: now,
      expires_at_ms: now + this.#o.memberTtlMs,
      started_at_ms: this.#startedAt,
    };
  }

  /** The phase in force is `phase` (start-up, or after a switch settled). */
  setPhase(phase: PhaseName, leaving: PhaseName | null = null): void {
    if (leaving !== null && leaving !== phase) {
      this.#settling = leaving;
      this.#settlesAt = this.#now() + this.#o.settleMs;
    }
    this.#phase = phase;
  }

  /** Writes this member's record (a heartbeat). */
  async publish(redis: RedisStore): Promise<void> {
    const record = this.record();
    if (record === null) return;
    await redis.client.hset(membersKey(redis), this.#o.instance, JSON.stringify(record));
  }

  /**
   * Claims `to` (leaving `from`): refused when a live member runs a phase outside `allowed`, or, with `checkSticky`,
   * when kask-only was ever entered. On success this member's record already says `to` (settling `from`).
   */
  async claim(
    redis: RedisStore,
    from: PhaseName,
    to: PhaseName,
    allowed: readonly PhaseName[],
    opts: { checkSticky: boolean; setSticky: boolean },
  ): Promise<ClaimResult> {
    const now = this.#now();
    const record: FleetMember = {
      ...(this.record() ?? this.#blank(now)),
      phase: to,
      settling: from === to ? null : from,
      settles_at_ms: from === to ? 0 : now + this.#o.settleMs,
    };
    const sticky: KaskOnlyMarker = { entered_at: new Date(now).toISOString(), instance: this.#o.instance };
    const answer = (await redis.client.eval(
      CLAIM_SCRIPT,
      2,
      membersKey(redis),
      redis.key(Buffer.from(FLEET_KEYS.kaskOnlyEntered)),
      this.#o.instance,
      JSON.stringify(record),
      String(now),
      allowed.join(','),
      opts.checkSticky ? '1' : '0',
      opts.setSticky ? JSON.stringify(sticky) : '',
    )) as [number, ...string[]];
    if (answer[0] === 1) return { kind: 'claimed' };
    if (answer[1] === 'sticky') return { kind: 'sticky', marker: parseJson<KaskOnlyMarker>(answer[2]) };
    return {
      kind: 'fleet',
      offenders: answer.slice(2).flatMap((raw) => parseJson<FleetMember>(raw as string) ?? []),
    };
  }

  /** Live members, this one included; expired records are left for the next claim to clear. */
  async members(redis: RedisStore): Promise<FleetMember[]> {
    const all = await redis.client.hgetall(membersKey(redis));
    const now = this.#now();
    return Object.values(all)
      .flatMap((raw) => parseJson<FleetMember>(raw) ?? [])
      .filter((m) => m.expires_at_ms > now)
      .sort((a, b) => a.instance.localeCompare(b.instance));
  }

  async kaskOnlyMarker(redis: RedisStore): Promise<KaskOnlyMarker | null> {
    const raw = await redis.client.get(redis.key(Buffer.from(FLEET_KEYS.kaskOnlyEntered)));
    return raw === null ? null : parseJson<KaskOnlyMarker>(raw);
  }

  /** Removes this member's record (clean shutdown). */
  async leave(redis: RedisStore): Promise<void> {
    await redis.client.hdel(membersKey(redis), this.#o.instance);
  }

  #blank(now: number): FleetMember {
    return {
      instance: this.#o.instance,
      host: hostname(),
      pid: process.pid,
      version: this.#o.version,
      phase: 'dual-write',
      settling: null,
      settles_at_ms: 0,
      heartbeat_at_ms: now,
      expires_at_ms: now + this.#o.memberTtlMs,
      started_at_ms: this.#startedAt,
    };
  }
}

function membersKey(redis: RedisStore): Buffer {
  return redis.key(Buffer.from(FLEET_KEYS.members));
}

function parseJson<T>(raw: string | undefined): T | null {
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}
