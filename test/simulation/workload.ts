// What one seed does: a few keys (some with legacy RedisBagOStuff values), a random sequence of client requests
// through random sidecars (several in flight at once, bursts of writers on one key), fault windows, phase changes
// and restarts; then a quiescent tail in which faults stop and every settle time, backoff and background task runs
// out, followed by the checks. The plan is drawn from its own PRNG, so the same seed plans the same run.

import { redisToEnvelope } from '../../src/codec/convert.js';
import type { PhaseName } from '../../src/config/schema.js';
import { type ClientOp, INVARIANT, type Violation } from './check.js';
import { describeWindow, type FaultWindow, type KaskOp } from './faults.js';
import { Rng } from './scheduler.js';
import { LADDER, VALUES, World } from './world.js';

export type FaultFamily =
  | 'redis-refuse'
  | 'redis-timeout'
  | 'kask-slow'
  | 'kask-error'
  | 'kask-timeout'
  | 'failing-key'
  | 'phase-change'
  | 'restart'
  | 'crash';

export const ALL_FAMILIES: readonly FaultFamily[] = [
  'redis-refuse',
  'redis-timeout',
  'kask-slow',
  'kask-error',
  'kask-timeout',
  'failing-key',
  'phase-change',
  'restart',
];
/** Known but off unless asked for (SIM_FAULTS): a crash loses what the sidecar held in memory. */
export const OPTIONAL_FAMILIES: readonly FaultFamily[] = ['crash'];

export type Step =
  | { at: number; kind: 'request'; sidecar: string; op: ClientOp; key: string; value: Buffer | null }
  /** `up`/`down`: one rung from wherever the sidecar is when the step runs; a name: that phase (may be refused). */
  | { at: number; kind: 'phase'; sidecar: string; to: PhaseName | 'up' | 'down' }
  /** The bulk copy (the real backfill step for every key Kask lacks); its completion marker appears when done. */
  | { at: number; kind: 'copy' }
  | { at: number; kind: 'restart'; sidecar: string }
  | { at: number; kind: 'crash'; sidecar: string; downMs: number }
  /** Invariant (e): while `key` keeps failing, no other key may wait longer than the bound. */
  | { at: number; kind: 'liveness'; key: string };

export interface Plan {
  seed: number;
  sidecars: Record<string, PhaseName>;
  keys: string[];
  legacy: Record<string, Buffer>;
  windows: FaultWindow[];
  steps: Step[];
  /** The bulk copy finished before the run: Kask holds every legacy value, and the completion marker exists. */
  copied?: boolean;
  /** Config overrides (`section.key` → value), as for a real sidecar. */
  config?: Record<string, string>;
}

export interface PlanOptions {
  families?: readonly FaultFamily[];
  ladder?: readonly PhaseName[];
}

/**
 * Operators may leave kask-only (the README calls that rollback allowed and unguarded). Kask-only never writes
 * Redis, so after a rollback Redis is stale for every key written meanwhile; set false if rollback from kask-only
 * is declared out of scope.
 */
export const ROLLBACK_FROM_KASK_ONLY: boolean = true;
/** How long a failing key's Kask writes keep failing (finding 6). */
const FAILING_KEY_MS = 45_000;
/** (e): a queued key is repaired within this of becoming due, however another key fails. */
export const LIVENESS_SLACK_MS = 15_000;
/** repair.settle_ms by default: when a failed key comes up for repair. */
const REPAIR_SETTLE_MS = 15_000;
/** After the last fault: long enough for settle (15 s), late landings (13 s), quiet windows and backoff. */
export const TAIL_MS = 90_000;

/** An Echo seen-time as RedisBagOStuff stores it (a PHP-serialized 14-digit string). */
export function seenTime(n: number): Buffer {
  return Buffer.from(`s:14:"${String(20261101000000 + n)}";`);
}

/** The RESTBagOStuff JSON envelope MediaWiki POSTs for the same value. */
export function envelopeOf(redisValue: Buffer): Buffer {
  const converted = redisToEnvelope(redisValue, VALUES);
  if (!converted.ok) throw new Error(`not convertible: ${converted.reason}`);
  return converted.bytes;
}

export function planFor(seed: number, opts: PlanOptions = {}): Plan {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const families = new Set(opts.families ?? ALL_FAMILIES);
  const ladder = opts.ladder ?? LADDER;
  const names = ['A', 'B', 'C'].slice(0, rng.between(2, 3));
  const keys = ['k1', 'k2', 'k3', 'k4'].slice(0, rng.between(2, 4));
  const legacy: Record<string, Buffer> = {};
  keys.forEach((key, i) => {
    if (rng.chance(0.6)) legacy[key] = seenTime(i * 1000);
  });
  // Most runs start early in the migration; some start late, with the bulk copy long done, so the upper rungs
  // (and kask-only next to them) get as much interleaving as the lower ones.
  const late = families.has('phase-change') && rng.chance(0.3);
  const start: PhaseName = late
    ? rng.pick(['kask-primary', 'redis-shadow'] as const)
    : rng.chance(0.75)
      ? 'migration'
      : 'dual-write';
  const sidecars = Object.fromEntries(names.map((n) => [n, start as PhaseName]));
  const windows: FaultWindow[] = [];
  const steps: Step[] = [];
  let written = 0;
  const post = (at: number, sidecar: string, key: string): Step => ({
    at,
    kind: 'request',
    sidecar,
    op: 'POST',
    key,
    value: envelopeOf(seenTime(100_000 + ++written)),
  });

  // Client traffic: a first wave of ~8 s while the fleet starts, and often a second one around the time the first
  // wave's failures come up for repair (repair.settle_ms), so client writes race the repairer. Some requests arrive
  // at the same instant; some come as a run of writes to one key, through several sidecars, spread over a second.
  const traffic = (start: number, count: number): number => {
    let at = start;
    for (let i = count; i > 0; i--) {
      at += rng.chance(0.3) ? 0 : rng.between(1, 600);
      if (rng.chance(0.12)) {
        const key = rng.pick(keys);
        let t = at;
        for (let b = rng.between(3, 6); b > 0; b--) {
          steps.push(post(t, rng.pick(names), key));
          t += rng.chance(0.3) ? 0 : rng.between(1, 900);
        }
        continue;
      }
      const op: ClientOp = rng.chance(0.4) ? 'GET' : rng.chance(0.7) ? 'POST' : 'DELETE';
      const sidecar = rng.pick(names);
      const key = rng.pick(keys);
      steps.push(
        op === 'POST' ? post(at, sidecar, key) : { at, kind: 'request', sidecar, op, key, value: null },
      );
    }
    return at;
  };
  let at = traffic(0, rng.between(8, 24));
  if (rng.chance(0.6)) at = traffic(rng.between(14_000, 18_000), rng.between(4, 14));
  const horizon = Math.max(at, 1000);
  const span = (min: number, max: number) => {
    const from = rng.int(horizon);
    return { from, to: from + rng.between(min, max) };
  };
  const someSidecar = () => (rng.chance(0.7) ? { sidecar: rng.pick(names) } : {});
  const mutations = (): KaskOp[] =>
    rng.pick([['set'], ['delete'], ['set', 'delete'], ['get', 'set', 'delete']]);

  // Each fault family present in a seed opens 1–3 windows somewhere in the traffic.
  const open = (family: FaultFamily, chance: number, make: () => FaultWindow) => {
    if (!families.has(family) || !rng.chance(chance)) return;
    for (let n = rng.between(1, 3); n > 0; n--) windows.push(make());
  };
  open('redis-refuse', 0.6, () => ({
    backend: 'redis',
    mode: 'refuse',
    ...someSidecar(),
    ...span(200, 4000),
  }));
  open('redis-timeout', 0.4, () => ({
    backend: 'redis',
    mode: 'timeout',
    p: 0.5,
    ...someSidecar(),
    ...span(100, 1500),
  }));
  open('kask-slow', 0.6, () => ({
    backend: 'kask',
    mode: 'slow',
    p: 0.8,
    ops: mutations(),
    ...someSidecar(),
    ...span(500, 5000),
  }));
  open('kask-error', 0.4, () => ({
    backend: 'kask',
    mode: 'error',
    p: 0.5,
    ops: mutations(),
    ...someSidecar(),
    ...span(200, 2000),
  }));
  open('kask-timeout', 0.6, () => ({
    backend: 'kask',
    mode: 'timeout',
    p: 0.6,
    ops: mutations(),
    ...someSidecar(),
    ...span(200, 3000),
  }));
  // Kask trouble often comes back: some windows recur when the keys they failed come up for repair, so the
  // repairer's own Kask calls fail (and land late) too.
  for (const w of [...windows])
    if (w.backend === 'kask' && w.mode !== 'slow' && rng.chance(0.8)) {
      const from = w.from + REPAIR_SETTLE_MS + rng.between(0, w.to - w.from + 500);
      windows.push({ ...w, from, to: from + rng.between(300, 1500) });
    }

  if (families.has('failing-key') && keys.length > 1 && rng.chance(0.3)) {
    // One key's Kask writes fail for a long time (its token range is down) while others' fail briefly.
    const bad = rng.pick(keys);
    const from = rng.int(horizon);
    windows.push({
      backend: 'kask',
      mode: 'error',
      key: bad,
      ops: ['set', 'delete'],
      from,
      to: from + FAILING_KEY_MS,
    });
    windows.push({
      backend: 'kask',
      mode: 'error',
      ops: ['set', 'delete'],
      from: from + 50,
      to: from + 1500,
    });
    steps.push(post(from, rng.pick(names), bad));
    for (const key of keys)
      if (key !== bad) steps.push(post(from + rng.between(100, 1400), rng.pick(names), key));
    steps.push({ at: from + FAILING_KEY_MS - 1, kind: 'liveness', key: bad });
  }

  if (families.has('phase-change') && rng.chance(0.4)) {
    // The bulk copy runs while traffic runs; leaving the Redis-reading phases needs it finished (the real guard).
    if (!late) steps.push({ at: rng.int(horizon), kind: 'copy' });
    // Operators climb the ladder host by host, sometimes step back, sometimes ask for what the guard must refuse.
    // Switches settle for a request deadline, so the changes are spread over the traffic and beyond.
    for (let i = rng.between(2, names.length * 6); i > 0; i--) {
      const sidecar = rng.pick(names);
      const to = rng.chance(0.8) ? 'up' : rng.chance(0.6) ? 'down' : rng.pick(ladder);
      steps.push({ at: rng.int(horizon + 12_000), kind: 'phase', sidecar, to });
    }
  }
  if (families.has('restart') && rng.chance(0.2))
    steps.push({ at: rng.int(horizon), kind: 'restart', sidecar: rng.pick(names) });

  if (families.has('crash') && rng.chance(0.3))
    steps.push({
      at: rng.int(horizon),
      kind: 'crash',
      sidecar: rng.pick(names),
      downMs: rng.between(100, 3000),
    });

  steps.sort((a, b) => a.at - b.at);
  return { seed, sidecars, keys, legacy, windows, steps, copied: late };
}

export interface SeedResult {
  seed: number;
  violations: Violation[];
  /** The full trace (equal for equal seeds). */
  trace: string[];
  /** A readable report: plan, history and trace. */
  report: () => string;
}

/** Runs one plan in a fresh world and checks it. */
export async function runPlan(plan: Plan, opts: PlanOptions = {}): Promise<SeedResult> {
  const world = await World.create({
    seed: plan.seed,
    sidecars: plan.sidecars,
    legacy: plan.legacy,
    copied: plan.copied,
    ladder: opts.ladder ?? LADDER,
    config: plan.config,
  });
  try {
    for (const w of plan.windows) world.faults.add(w);
    for (const step of plan.steps) {
      world.operationsInFlight++;
      world.sched.schedule(step.at, 'plan', describeStep(step), () => {
        world.operationsInFlight--;
        void execute(world, step);
      });
    }
    const violations = await world.settleAndCheck(plan.keys, TAIL_MS);
    const all = [...world.violations.filter((v) => !violations.includes(v)), ...violations];
    return {
      seed: plan.seed,
      violations: all,
      trace: world.sched.trace,
      report: () => report(plan, world, all),
    };
  } finally {
    world.close();
  }
}

export function runSeed(seed: number, opts: PlanOptions = {}): Promise<SeedResult> {
  return runPlan(planFor(seed, opts), opts);
}

async function execute(world: World, step: Step): Promise<void> {
  if (step.kind === 'liveness') return checkLiveness(world, step.key);
  if (step.kind === 'copy') return world.bulkCopy();
  // A sidecar that is restarting takes no requests: MediaWiki's load balancer sends them elsewhere.
  const up = world.accepting();
  const sidecar = up.includes(step.sidecar) ? step.sidecar : up[0];
  if (sidecar === undefined) return;
  if (step.kind === 'request') await world.request(sidecar, step.op, step.key, step.value);
  else if (step.kind === 'phase') {
    const from = world.sidecar(step.sidecar).phase;
    const rung = LADDER.indexOf(from);
    const to =
      step.to === 'up'
        ? LADDER[Math.min(rung + 1, LADDER.length - 1)]!
        : step.to === 'down'
          ? LADDER[Math.max(rung - 1, 0)]!
          : step.to;
    if (!ROLLBACK_FROM_KASK_ONLY && from === 'kask-only' && to !== 'kask-only')
      world.sched.log('operator', `${step.sidecar} → ${to}: not done (no rollback from kask-only)`);
    else await world.changePhase(step.sidecar, to);
  } else if (step.kind === 'crash') {
    if (up.includes(step.sidecar)) await world.crash(step.sidecar, step.downMs);
  } else if (up.includes(step.sidecar)) await world.restart(step.sidecar);
}

function checkLiveness(world: World, failing: string): void {
  // Due times already include the settle time (and any backoff of the key's own failures).
  const bound = world.now() - LIVENESS_SLACK_MS;
  const starved = world.queued().filter((q) => q.key !== failing && q.dueAt < bound);
  world.sched.log('check', `liveness: ${starved.length} key(s) starved behind ${failing}`);
  for (const q of starved)
    world.violations.push({
      invariant: INVARIANT.e,
      detail: `${q.key} due since ${q.dueAt} ms, still waiting at ${world.now()} ms while ${failing} keeps failing`,
    });
}

function describeStep(step: Step): string {
  if (step.kind === 'request') return `step: ${step.op} ${step.key} via ${step.sidecar}`;
  if (step.kind === 'phase') return `step: ${step.sidecar} → ${step.to}`;
  if (step.kind === 'copy') return 'step: bulk copy';
  if (step.kind === 'restart') return `step: restart ${step.sidecar}`;
  if (step.kind === 'crash') return `step: crash ${step.sidecar} for ${step.downMs} ms`;
  return `step: liveness check (${step.key} failing)`;
}

function report(plan: Plan, world: World, violations: Violation[]): string {
  const lines = [
    `seed ${plan.seed}: ${violations.length} violation(s)`,
    ...violations.map((v) => `  [${v.invariant}] ${v.detail}`),
    `sidecars: ${Object.entries(plan.sidecars)
      .map(([n, p]) => `${n}=${p}`)
      .join(' ')}; legacy: ${Object.keys(plan.legacy).join(' ') || 'none'}`,
    'faults:',
    ...plan.windows.map((w) => `  ${describeWindow(w)}`),
    'trace (idle polling left out):',
    world.sched.printable(),
  ];
  return lines.join('\n');
}
