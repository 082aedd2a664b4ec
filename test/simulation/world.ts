// The simulated fleet: one Redis, one Kask, and 2–3 sidecars each built from the REAL code exactly as
// src/sidecar.ts builds one (createResilience, buildPhase, PhaseSwitch, PhaseControl, BackgroundTasks), with the
// stores swapped for the simulated ones and metrics/logs recorded in memory. ALL knowledge of the code's
// constructors lives in this file: re-pointing the simulation at changed code is a change here.

import { redisToEnvelope } from '../../src/codec/convert.js';
import { loadConfig } from '../../src/config/load.js';
import { type Config, PHASE_NAMES, type PhaseName, REDIS_WRITING_PHASES } from '../../src/config/schema.js';
import type { MarkerRead } from '../../src/fleet/completion-marker.js';
import type { Logger } from '../../src/ops/logging.js';
import type { Metrics } from '../../src/ops/metrics.js';
import { type PhaseChange, PhaseControl } from '../../src/ops/phase-control.js';
import { backfillKey } from '../../src/phases/backfill.js';
import { BackgroundTasks } from '../../src/phases/background.js';
import { buildPhase, dualStoresFor } from '../../src/phases/build.js';
import { SILENT_OBSERVER } from '../../src/phases/observer.js';
import type { Phase, ReadOutcome, WriteOutcome } from '../../src/phases/phase.js';
import { PhaseSwitch } from '../../src/phases/phase-switch.js';
import type { RedisStore } from '../../src/redis/store.js';
import { createResilience, type Resilience } from '../../src/resilience/resilience.js';
import { RepairLedgerState } from '../support/fakes/repair-ledger.js';
import { sleep } from '../support/wait.js';
import {
  type ClientOp,
  checkLatency,
  checkReadable,
  checkStoresAgree,
  History,
  INVARIANT,
  type OpRecord,
  type Violation,
} from './check.js';
import { Faults } from './faults.js';
import { Scheduler } from './scheduler.js';
import { SimFleet } from './sim-fleet.js';
import { LATE_LANDING_MAX_MS, SimKask } from './sim-kask.js';
import { type Caller, SimRedis, show } from './sim-redis.js';
import { simRepairLedger } from './sim-repair-ledger.js';

/** The ladder the simulation runs against (src/config/schema.ts): the real guard moves one rung at a time. */
export const LADDER: readonly PhaseName[] = PHASE_NAMES;

/** The phase one rung above `phase` (or `phase` itself at the top). */
export function rungAbove(phase: PhaseName, ladder: readonly PhaseName[] = LADDER): PhaseName {
  return ladder[Math.min(ladder.indexOf(phase) + 1, ladder.length - 1)]!;
}

/**
 * Phases whose fleet keeps Kask == convert(Redis) at quiescence: every phase that converges Kask to Redis. A fleet
 * with a `redis-shadow` or `kask-only` host no longer promises it (their writes are not re-derived from Redis).
 */
export const CONVERGING_PHASES: ReadonlySet<string> = new Set(['dual-write', 'migration', 'kask-primary']);

export const VALUES = { type: 'JSON' as const, hmacKey: null };

/** The completion marker the bulk copy leaves (src/fleet/completion-marker.ts). */
const COPY_DONE: MarkerRead = {
  kind: 'present',
  marker: {
    completed_at: '2026-11-01T00:00:00.000Z',
    run_id: 'sim',
    keys_scanned: 0,
    keys_copied: 0,
    keys_skipped: 0,
    keys_failed: 0,
    shards: { count: 1, done: [0] },
    version: 'sim',
  },
};

/** Config as a real sidecar would load it; the shadow compare is off (it calls Math.random). */
const CONFIG_OVERRIDES: Record<string, string> = { 'migration.shadow_sample_rate': '0' };

export interface WorldOptions {
  seed: number;
  /** Sidecar name → its phase at start. */
  sidecars: Record<string, PhaseName>;
  ladder?: readonly PhaseName[];
  /** RedisBagOStuff bytes already in Redis (Kask empty) when the run begins. */
  legacy?: Record<string, Buffer>;
  /** The bulk copy finished before the run: Kask holds every legacy value, and the completion marker exists. */
  copied?: boolean;
  config?: Record<string, string>;
}

/** A counter/gauge/histogram that records into a map; callable too, so any Metrics method is a no-op. */
function recordingMetrics(counts: Map<string, number>): Metrics {
  const made = new Map<string, unknown>();
  const recorder = (name: string): unknown => {
    const known = made.get(name);
    if (known) return known;
    const labelled = (labels: unknown) =>
      `${name}${labels && typeof labels === 'object' ? JSON.stringify(labels) : ''}`;
    const fn = (() => fn) as unknown as Record<string, unknown>;
    fn['inc'] = (labels?: unknown, value?: unknown) => {
      const by = typeof labels === 'number' ? labels : typeof value === 'number' ? value : 1;
      const id = labelled(typeof labels === 'object' ? labels : undefined);
      counts.set(id, (counts.get(id) ?? 0) + by);
    };
    fn['set'] = () => {};
    fn['observe'] = () => {};
    fn['labels'] = () => fn;
    made.set(name, fn);
    return fn;
  };
  return new Proxy({}, { get: (_t, name) => recorder(String(name)) }) as Metrics;
}

/** A pino-shaped logger that puts repair and phase lines into the trace (never values). */
function tracingLogger(sched: Scheduler, caller: Caller): Logger {
  const line =
    (level: string) =>
    (fields: unknown, message?: string): void => {
      if (!caller.alive) return; // a crashed process logs nothing
      const f = (fields ?? {}) as Record<string, unknown>;
      const key = typeof f['kmp.key'] === 'string' ? ` key=${f['kmp.key']}` : '';
      const err = typeof f['error.message'] === 'string' ? ` (${f['error.message']})` : '';
      sched.log(caller.name, `log.${level}: ${message ?? ''}${key}${err}`);
    };
  const logger: Record<string, unknown> = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) logger[level] = line(level);
  logger['child'] = () => logger;
  return logger as unknown as Logger;
}

/** One sidecar process: what a restart throws away. */
export class SimSidecar {
  accepting = true;
  inFlight = 0;
  /** Requests being served, so a crash can answer them as MediaWiki sees it (a reset: outcome unknown). */
  readonly serving = new Set<OpRecord>();
  #idle: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly caller: Caller,
    readonly phases: PhaseSwitch,
    readonly control: PhaseControl,
    readonly resilience: Resilience,
    readonly background: BackgroundTasks,
  ) {}

  get phase(): PhaseName {
    return this.phases.name;
  }

  enter(): void {
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  whenIdle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }
}

export class World {
  readonly sched: Scheduler;
  readonly faults: Faults;
  readonly redis: SimRedis;
  readonly kask: SimKask;
  readonly history = new History();
  readonly config: Config;
  readonly ladder: readonly PhaseName[];
  readonly sidecars = new Map<string, SimSidecar>();
  /** Metric samples across every sidecar (and every restart), e.g. `repairs{"outcome":"lost"}`. */
  readonly metrics = new Map<string, number>();
  readonly legacy = new Map<string, Buffer>();
  readonly violations: Violation[] = [];
  /** Phase changes and restarts under way. */
  operationsInFlight = 0;
  /**
   * Some sidecar ran a phase that does not converge (redis-shadow, kask-only) at some point: from then on a write
   * answered 500 there may leave Redis and Kask different for good (docs/protocol.md), so (b) no longer applies.
   */
  leftConvergence = false;
  /** The bulk copy finished (its completion marker is in Redis). */
  copied = false;
  /** The repair queue in the one Redis. */
  readonly queue = new RepairLedgerState();
  readonly fleet: SimFleet;

  private constructor(opts: WorldOptions) {
    this.sched = new Scheduler(opts.seed);
    this.faults = new Faults(this.sched.rng);
    this.config = loadConfig(null, { ...CONFIG_OVERRIDES, ...opts.config }, {});
    this.ladder = opts.ladder ?? LADDER;
    this.redis = new SimRedis(this.sched, this.faults, this.config.redis.commandTimeoutMs);
    this.kask = new SimKask(this.sched, this.faults, this.config.kask.requestTimeoutMs);
    // As src/sidecar.ts: requests of a phase being left may run one request deadline (plus a margin) longer.
    this.fleet = new SimFleet(this.redis, this.config.migration.requestDeadlineMs + 1000);
    for (const [key, value] of Object.entries(opts.legacy ?? {})) {
      this.legacy.set(key, value);
      this.redis.data.set(key, Buffer.from(value));
      const converted = redisToEnvelope(value, VALUES);
      if (opts.copied && converted.ok) this.kask.data.set(key, converted.bytes);
    }
    this.copied = opts.copied ?? false;
  }

  /** Installs the virtual clock; call `close()` when done. */
  static async create(opts: WorldOptions): Promise<World> {
    const world = new World(opts);
    world.sched.install();
    for (const [name, phase] of Object.entries(opts.sidecars))
      world.sidecars.set(name, await world.#build(name, phase));
    return world;
  }

  close(): void {
    this.sched.uninstall();
  }

  now(): number {
    return this.sched.now();
  }

  sidecar(name: string): SimSidecar {
    const s = this.sidecars.get(name);
    if (!s) throw new Error(`no sidecar ${name}`);
    return s;
  }

  /** The real wiring of src/sidecar.ts, minus HTTP: resilience, phase builder, phase switch, phase control. */
  /** One process's connections, logger, background work and resilience (breakers, repair queue, repairer). */
  #process(name: string) {
    const caller: Caller = { name, alive: true };
    const logger = tracingLogger(this.sched, caller);
    const metrics = recordingMetrics(this.metrics);
    const background = new BackgroundTasks();
    const store = {
      ...this.redis.dataStore(caller),
      // Only the repair ledger and the fleet registry reach for the raw client; here both are simulated above it.
      get client(): never {
        throw new Error('the simulation has no raw Redis client: simulate the caller at its interface');
      },
    } as unknown as RedisStore;
    const live = { config: this.config };
    const resilience = createResilience({
      live,
      kask: this.kask.client(caller),
      redis: async () => store,
      metrics,
      logger,
      observer: SILENT_OBSERVER,
      background,
      ledger: simRepairLedger(this.redis, this.queue, caller),
    });
    return { caller, logger, background, live, resilience };
  }

  async #build(name: string, phase: PhaseName): Promise<SimSidecar> {
    const { caller, logger, background, live, resilience } = this.#process(name);
    const build = (to: PhaseName) =>
      buildPhase(to, {
        config: live.config,
        kask: resilience.kask,
        redis: resilience.redis,
        observer: SILENT_OBSERVER,
        repairs: resilience.repairs,
        background,
      });
    let current: PhaseSwitch | null = null;
    const fleet = this.fleet.guard(caller, () => current?.name ?? phase);
    this.fleet.join(name, phase);
    const phases = new PhaseSwitch(await build(phase), build, {
      // As src/sidecar.ts.
      async settle(_leaving, entering) {
        await background.drain(live.config.migration.requestDeadlineMs + 1000);
        if (!REDIS_WRITING_PHASES.includes(entering)) await resilience.repairer.stop();
      },
      onChange: (to, leaving) => {
        if (!CONVERGING_PHASES.has(to)) this.leftConvergence = true;
        this.sched.log(name, `phase ${to} in force`);
        resilience.phaseChanged(to);
        fleet.changed(to, leaving);
      },
    });
    current = phases;
    const control = new PhaseControl(
      phases,
      // The completion marker exists once the workload's bulk copy (world.bulkCopy) has finished.
      async () => (this.copied ? COPY_DONE : { kind: 'absent' }),
      logger,
      async () => (await resilience.repairer.status().catch(() => null))?.depth ?? null,
      fleet,
      this.config.migration.requestDeadlineMs + 1000,
    );
    return new SimSidecar(name, caller, phases, control, resilience, background);
  }

  /** One client request through one sidecar, recorded in the history. */
  async request(sidecar: string, op: ClientOp, key: string, value: Buffer | null = null): Promise<OpRecord> {
    const s = this.sidecar(sidecar);
    const phase = s.phases.current();
    const record = this.history.begin({
      sidecar,
      phase: phase.name,
      op,
      key,
      value: op === 'POST' ? value : null,
      invokedAt: this.now(),
    });
    this.sched.log(
      `client`,
      `#${record.id} ${op} ${key}${op === 'POST' ? ` ${show(value)}` : ''} → ${sidecar} [${phase.name}]`,
    );
    s.enter();
    s.serving.add(record);
    const answer = await serve(phase, op, key, value);
    s.serving.delete(record);
    s.leave();
    if (record.outcome !== 'pending') return record; // its sidecar crashed meanwhile
    record.respondedAt = this.now();
    record.outcome = answer.outcome;
    record.answer = answer.value;
    this.sched.log(
      `client`,
      `#${record.id} ← ${answer.outcome}${answer.value ? ` ${show(answer.value)}` : ''}`,
    );
    return record;
  }

  /**
   * An operator's phase change on one sidecar, through its own PhaseControl: the real guard (one rung at a time,
   * neighbours only in the fleet, the repair queue, no return to a Redis-trusting phase after kask-only).
   */
  async changePhase(sidecar: string, to: PhaseName): Promise<PhaseChange> {
    const s = this.sidecar(sidecar);
    this.operationsInFlight++;
    this.sched.log('operator', `${sidecar} → ${to} requested`);
    const result = await s.control.request({ to, force: false, source: 'admin' });
    this.sched.log(
      'operator',
      `${sidecar} → ${to}: ${result.kind}${'reason' in result ? ` (${result.reason})` : ''}`,
    );
    this.operationsInFlight--;
    return result;
  }

  /** Graceful restart (SIGTERM, then start again in the same phase): in-memory state is gone, Redis's queue stays. */
  async restart(sidecar: string): Promise<void> {
    const s = this.sidecar(sidecar);
    this.operationsInFlight++;
    s.accepting = false;
    this.sched.log('operator', `restart ${sidecar}: draining`);
    await s.whenIdle();
    await s.background.drain(this.config.shutdown.drainTimeoutMs);
    await s.resilience.close();
    this.sidecars.set(sidecar, await this.#build(sidecar, s.phase));
    this.sched.log('operator', `restart ${sidecar}: up again in ${s.phase}`);
    this.operationsInFlight--;
  }

  /**
   * A crash (kill -9) and a start `downMs` later in the same phase: requests in flight are cut off (MediaWiki sees
   * an error: outcome unknown), store calls already sent still take effect, and everything held in memory (the
   * repair buffer, backfills under way) is gone.
   */
  async crash(sidecar: string, downMs: number): Promise<void> {
    const s = this.sidecar(sidecar);
    this.operationsInFlight++;
    s.caller.alive = false;
    s.accepting = false;
    s.resilience.breakers.shutdown(); // only stops its timers: the process is gone
    for (const record of s.serving) {
      record.outcome = 'error';
      record.respondedAt = this.now();
      this.sched.log('client', `#${record.id} ← error (connection reset)`);
    }
    this.sched.log(
      'operator',
      `crash ${sidecar} (${s.resilience.repairs.buffered} repair(s) buffered in memory)`,
    );
    await sleep(downMs);
    this.sidecars.set(sidecar, await this.#build(sidecar, s.phase));
    this.sched.log('operator', `${sidecar} started again in ${s.phase}`);
    this.operationsInFlight--;
  }

  /**
   * The bulk copy, as the copy tool does it: for every key Kask lacks, the real backfill step (src/phases/backfill.ts)
   * from a fresh Redis read, recording what fails in the shared repair queue.
   * The completion marker appears once every key is done.
   */
  async bulkCopy(): Promise<void> {
    this.operationsInFlight++;
    // The copier is a process of its own (a Kubernetes Job): its own connections and its own handle on the queue.
    const copier = this.#process('copier');
    const stores = dualStoresFor(this.config, {
      kask: copier.resilience.kask,
      redis: await copier.resilience.redis(),
      observer: SILENT_OBSERVER,
      repairs: copier.resilience.repairs,
      background: copier.background,
    });
    let failed = 0;
    for (const key of [...this.legacy.keys()]) {
      const k = Buffer.from(key, 'latin1');
      try {
        if ((await stores.kask.get(k)).kind === 'hit') continue;
        const stored = await stores.redis.get(k);
        const envelope = stored === null ? null : redisToEnvelope(stored, VALUES);
        if (stored === null || !envelope?.ok) continue;
        if ((await backfillKey(stores, k, stored, envelope.bytes)) === 'failed') failed++;
      } catch {
        failed++;
      }
    }
    // A copy with failures does not record completion (the failed keys went to the repair queue, or must be re-run).
    await copier.resilience.close();
    this.copied = failed === 0;
    this.sched.log('copier', failed === 0 ? 'bulk copy complete' : `bulk copy: ${failed} key(s) failed`);
    this.operationsInFlight--;
  }

  /** Sidecars taking requests now. */
  accepting(): string[] {
    return [...this.sidecars.values()].filter((s) => s.accepting).map((s) => s.name);
  }

  /** Keys waiting in the durable queue, with the virtual time they became due and their failed attempts. */
  queued(): Array<{ key: string; dueAt: number; failures: number }> {
    return this.queue.sorted().map(([key, e]) => ({ key, dueAt: e.dueMs, failures: e.failures }));
  }

  /** Nothing left to do: no requests, changes, background work, buffered or queued repairs, late Kask writes. */
  quiescent(): boolean {
    if (this.history.inFlight > 0 || this.operationsInFlight > 0 || this.kask.lateLandings > 0) return false;
    for (const s of this.sidecars.values())
      if (s.background.size > 0 || s.resilience.repairs.buffered > 0) return false;
    return this.queue.entries.size === 0;
  }

  /**
   * Runs until quiescent (or `tailMs` past the last fault), then checks invariants a–d; (e) is checked during the
   * run by the workload. Returns every violation found, also kept in `violations`.
   */
  async settleAndCheck(keys: string[], tailMs: number): Promise<Violation[]> {
    const limit = Math.max(this.now(), this.faults.lastEnd) + tailMs;
    await this.sched.run(() => this.now() >= this.faults.lastEnd && this.quiescent(), limit);
    this.sched.log('check', `quiescence ${this.quiescent() ? 'reached' : 'NOT reached'}`);
    const found: Violation[] = [...checkLatency(this.history)];
    const phases = [...this.sidecars.values()].map((s) => s.phase);
    if (!this.leftConvergence && phases.every((p) => CONVERGING_PHASES.has(p)))
      for (const key of keys)
        found.push(
          ...checkStoresAgree(
            key,
            this.redis.data.get(key) ?? null,
            this.kask.data.get(key) ?? null,
            VALUES,
            this.legacy.get(key) ?? null,
          ),
        );
    const queued = this.queued();
    if (queued.length > 0)
      found.push({
        invariant: INVARIANT.c,
        detail: `still queued: ${queued.map((q) => `${q.key} (due ${q.dueAt} ms, ${q.failures} failure(s))`).join(', ')}`,
      });
    const buffered = [...this.sidecars.values()].reduce((n, s) => n + s.resilience.repairs.buffered, 0);
    if (buffered > 0)
      found.push({ invariant: INVARIANT.c, detail: `${buffered} key(s) still buffered in memory` });
    const lost = [...this.metrics].filter(
      ([name, n]) => name.startsWith('repairs') && name.includes('"lost"') && n > 0,
    );
    if (lost.length > 0)
      found.push({
        invariant: INVARIANT.c,
        detail: `counted lost: ${lost.map(([n, v]) => `${n}=${v}`).join(', ')}`,
      });
    // (a): a GET through every sidecar, one key at a time, outside the history.
    for (const key of keys) {
      const finalReads: Array<{ sidecar: string; answer: Buffer | null | 'error' }> = [];
      for (const s of this.sidecars.values()) {
        let done = false;
        void serve(s.phases.current(), 'GET', key, null).then((a) => {
          finalReads.push({ sidecar: s.name, answer: a.outcome === 'error' ? 'error' : a.value });
          this.sched.log(
            'check',
            `final GET ${key} via ${s.name} [${s.phase}] = ${a.outcome} ${show(a.value)}`,
          );
          done = true;
        });
        await this.sched.run(() => done, this.now() + 10_000);
      }
      const legacy = this.legacy.get(key);
      const converted = legacy ? redisToEnvelope(legacy, VALUES) : null;
      found.push(
        ...checkReadable({
          history: this.history,
          key,
          legacy: converted?.ok ? converted.bytes : null,
          finalReads,
          lateEffectMs: (phase) =>
            CONVERGING_PHASES.has(phase) ? 0 : this.config.kask.requestTimeoutMs + LATE_LANDING_MAX_MS,
        }),
      );
    }
    this.violations.push(...found);
    return found;
  }
}

async function serve(
  phase: Phase,
  op: ClientOp,
  key: string,
  value: Buffer | null,
): Promise<{ outcome: 'ok' | 'hit' | 'miss' | 'error'; value: Buffer | null }> {
  const k = Buffer.from(key, 'latin1');
  const meta = { requestId: 'sim', forward: {} };
  try {
    if (op === 'GET') {
      const read: ReadOutcome = await phase.get(k, meta);
      return read.kind === 'hit'
        ? { outcome: 'hit', value: read.value }
        : { outcome: read.kind === 'miss' ? 'miss' : 'error', value: null };
    }
    const write: WriteOutcome =
      op === 'POST' ? await phase.set(k, value!, meta) : await phase.delete(k, meta);
    return { outcome: write.kind === 'ok' ? 'ok' : 'error', value: null };
  } catch {
    // The front answers a thrown error with 500.
    return { outcome: 'error', value: null };
  }
}
