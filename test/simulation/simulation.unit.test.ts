// The dual-phase protocol under a seeded, replayable simulation (README.md here): many random seeds against the
// invariants, and a replay check that one seed always produces the identical run.
//   SIM_SEEDS=5000            how many seeds (default below), starting at SIM_FIRST_SEED (default 1)
//   SIM_SEED=1234             replay exactly one seed and print its trace
//   SIM_FAULTS=kask-timeout,… only these fault families (workload.ts ALL_FAMILIES; `crash` is opt-in)
import { describe, expect, it } from 'vitest';
import { cases } from '../support/tier.js';
import { INVARIANT } from './check.js';
import {
  ALL_FAMILIES,
  envelopeOf,
  type FaultFamily,
  OPTIONAL_FAMILIES,
  runPlan,
  runSeed,
  type SeedResult,
  seenTime,
} from './workload.js';

/** 30 in the unit tier (test/support/tier.ts), which has seconds for everything. */
const DEFAULT_SEEDS = cases(1000, 30);
const count = Number(process.env['SIM_SEEDS'] ?? DEFAULT_SEEDS);
const first = Number(process.env['SIM_FIRST_SEED'] ?? 1);
const only = process.env['SIM_SEED'];
const families = (process.env['SIM_FAULTS']?.split(',') ?? ALL_FAMILIES) as FaultFamily[];
for (const f of families)
  if (!ALL_FAMILIES.includes(f) && !OPTIONAL_FAMILIES.includes(f))
    throw new Error(`unknown fault family ${f}`);

/** One line per failing seed, then the first failure in full. */
function summary(failures: SeedResult[], ran: number): string {
  const byInvariant = new Map<string, number[]>();
  for (const f of failures)
    for (const inv of new Set(f.violations.map((v) => v.invariant)))
      byInvariant.set(inv, [...(byInvariant.get(inv) ?? []), f.seed]);
  return [
    `${failures.length} of ${ran} seeds violate an invariant (replay one with SIM_SEED=<seed>):`,
    ...[...byInvariant].map(
      ([inv, seeds]) => `  ${inv}: ${seeds.length} seed(s), e.g. ${seeds.slice(0, 12).join(' ')}`,
    ),
    '',
    failures[0]?.report() ?? '',
  ].join('\n');
}

describe('dual-phase simulation', () => {
  it.runIf(only === undefined)(
    `holds every invariant for ${count} random seeds`,
    async () => {
      const failures: SeedResult[] = [];
      for (let seed = first; seed < first + count; seed++) {
        const result = await runSeed(seed, { families });
        if (result.violations.length > 0) failures.push(result);
      }
      if (failures.length > 0) console.error(summary(failures, count));
      expect(failures.map((f) => f.seed)).toEqual([]);
    },
    600_000,
  );

  it.runIf(only !== undefined)(`replays seed ${only}`, async () => {
    const result = await runSeed(Number(only), { families });
    console.log(result.report());
    expect(result.violations).toEqual([]);
  });

  it('raises no false alarm: without faults, phase changes or restarts every seed holds every invariant', async () => {
    const failures: SeedResult[] = [];
    const seeds = cases(200);
    for (let seed = 1; seed <= seeds; seed++) {
      const result = await runSeed(seed, { families: [] });
      if (result.violations.length > 0) failures.push(result);
    }
    if (failures.length > 0) console.error(summary(failures, seeds));
    expect(failures.map((f) => f.seed)).toEqual([]);
  });

  it('can fail: a late Kask landing after a repair made too early (repair.settle_ms = 0) is caught', async () => {
    const result = await runPlan({
      seed: 1,
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: {},
      config: { 'repair.settle_ms': '0' },
      windows: [
        {
          backend: 'kask',
          mode: 'timeout',
          sidecar: 'A',
          key: 'K',
          ops: ['set'],
          lands: 1,
          delayMs: 5000,
          from: 0,
          to: 5,
        },
      ],
      steps: [
        { at: 0, kind: 'request', sidecar: 'A', op: 'POST', key: 'K', value: envelopeOf(seenTime(1)) },
        { at: 3000, kind: 'request', sidecar: 'B', op: 'POST', key: 'K', value: envelopeOf(seenTime(2)) },
      ],
    });
    expect(result.violations.map((v) => v.invariant)).toContain(INVARIANT.b);
    expect(result.violations.map((v) => v.invariant)).toContain(INVARIANT.a);
  });

  it('replays a seed exactly: same seed, same trace, whatever ran before', async () => {
    const seeds = [3, 12, 26];
    const firstRuns = [];
    for (const seed of seeds) firstRuns.push(await runSeed(seed));
    for (const [i, seed] of [...seeds].reverse().entries()) {
      const again = await runSeed(seed);
      const before = firstRuns[seeds.length - 1 - i]!;
      expect(again.trace).toEqual(before.trace);
      expect(again.violations).toEqual(before.violations);
    }
    // Different seeds explore different runs.
    expect(firstRuns[0]!.trace).not.toEqual(firstRuns[1]!.trace);
  });
});
