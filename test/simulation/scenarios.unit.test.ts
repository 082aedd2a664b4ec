// The six failure-path findings as scripted interleavings through the same simulated fleet: each is a plan written
// by hand (who sends what when, which store call fails how) instead of one drawn from a seed, checked against the
// same invariants. Each must hold once its finding is fixed; a failure prints the run's trace.

import { describe, expect, it } from 'vitest';
import type { PhaseName } from '../../src/config/schema.js';
import type { ClientOp } from './check.js';
import type { FaultWindow } from './faults.js';
import { envelopeOf, type Plan, runPlan, type Step, seenTime } from './workload.js';
import { rungAbove } from './world.js';

const LEGACY = seenTime(0);
const value = (n: number) => envelopeOf(seenTime(100 + n));
const request = (at: number, sidecar: string, op: ClientOp, key: string, v: Buffer | null = null): Step => ({
  at,
  kind: 'request',
  sidecar,
  op,
  key,
  value: v,
});
const phase = (at: number, sidecar: string, to: PhaseName): Step => ({ at, kind: 'phase', sidecar, to });

/** The operator moves `sidecars` from migration up the ladder to kask-only, one rung every `gapMs`. */
function climbToKaskOnly(at: number, sidecars: string[], gapMs: number): Step[] {
  const steps: Step[] = [];
  for (let p: PhaseName = 'migration'; p !== 'kask-only'; p = rungAbove(p)) {
    const next = rungAbove(p);
    for (const s of sidecars) steps.push(phase(at, s, next));
    at += gapMs;
  }
  return steps;
}

async function expectInvariantsHold(plan: Omit<Plan, 'seed'>): Promise<void> {
  const result = await runPlan({ seed: 1, ...plan });
  if (result.violations.length > 0) console.error(result.report());
  expect(result.violations).toEqual([]);
}

describe('failure-path findings, scripted', () => {
  it('1: a backfill in flight cannot bring back a delete Kask acknowledged while Redis refused it', async () => {
    // B reads K (Kask misses, Redis has it) and backfills slowly; meanwhile A deletes K with its Redis DEL refused.
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: { K: LEGACY },
      windows: [
        { backend: 'kask', mode: 'slow', sidecar: 'B', key: 'K', ops: ['set'], delayMs: 500, from: 0, to: 5 },
        { backend: 'redis', mode: 'refuse', sidecar: 'A', key: 'K', from: 10, to: 20 },
      ],
      steps: [request(0, 'B', 'GET', 'K'), request(10, 'A', 'DELETE', 'K')],
    });
  });

  it('1: … nor overwrite a write Kask acknowledged while Redis refused it', async () => {
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: { K: LEGACY },
      windows: [
        { backend: 'kask', mode: 'slow', sidecar: 'B', key: 'K', ops: ['set'], delayMs: 500, from: 0, to: 5 },
        { backend: 'redis', mode: 'refuse', sidecar: 'A', key: 'K', from: 10, to: 20 },
      ],
      steps: [request(0, 'B', 'GET', 'K'), request(10, 'A', 'POST', 'K', value(1))],
    });
  });

  it('1+2: a client write that timed out and landed late cannot undo a later acknowledged write', async () => {
    // The most common failure in random runs: A's POST times out in Kask (500) and lands 8 s later; meanwhile B's
    // POST is acknowledged by Kask with its Redis SET refused (Redis behind). The late landing makes both stores
    // agree on A's older value again, and the catch-up takes agreement for healed.
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: {},
      windows: [
        {
          backend: 'kask',
          mode: 'timeout',
          sidecar: 'A',
          key: 'K',
          ops: ['set'],
          lands: 1,
          delayMs: 8000,
          from: 0,
          to: 5,
        },
        { backend: 'redis', mode: 'refuse', sidecar: 'B', key: 'K', from: 1900, to: 2100 },
      ],
      steps: [request(0, 'A', 'POST', 'K', value(1)), request(2000, 'B', 'POST', 'K', value(2))],
    });
  });

  it("2: the repairer's own timed-out Kask write cannot land over a newer client write", async () => {
    // A's POST reaches Redis but not Kask (500, queued). After the settle time the repair POST times out and lands
    // 8 s later; the retry 250 ms later succeeds and completes the key; then B writes a newer value.
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: {},
      windows: [
        { backend: 'kask', mode: 'error', sidecar: 'A', key: 'K', ops: ['set'], from: 0, to: 5 },
        {
          backend: 'kask',
          mode: 'timeout',
          key: 'K',
          ops: ['set'],
          lands: 1,
          delayMs: 8000,
          from: 15_000,
          to: 15_900,
        },
      ],
      steps: [request(0, 'A', 'POST', 'K', value(1)), request(20_000, 'B', 'POST', 'K', value(2))],
    });
  });

  it('3a: a backfill started in migration cannot land after the switch to kask-only and undo a delete', async () => {
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: { K: LEGACY },
      windows: [
        { backend: 'kask', mode: 'slow', sidecar: 'A', key: 'K', ops: ['set'], delayMs: 900, from: 0, to: 5 },
      ],
      steps: [
        request(0, 'A', 'GET', 'K'),
        ...climbToKaskOnly(100, ['A', 'B'], 100),
        request(500, 'A', 'DELETE', 'K'),
      ],
    });
  });

  it("3b: mid rolling change, a migration host's fallback and backfill cannot undo a delete made one rung up", async () => {
    // No fault at all: A has moved one rung up the ladder, B is still in migration.
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: { K: LEGACY },
      windows: [],
      steps: [
        request(0, 'B', 'GET', 'K'),
        phase(100, 'A', rungAbove('migration')),
        request(500, 'A', 'DELETE', 'K'),
        request(1000, 'B', 'GET', 'K'),
      ],
    });
  });

  it("3b: mid rolling change, a migration host's repair from stale Redis cannot undo a retried write", async () => {
    // A (migration) answers 500 for a write that reached neither store; MediaWiki retries it through B, one rung up.
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: { K: LEGACY },
      windows: [
        { backend: 'redis', mode: 'refuse', sidecar: 'A', key: 'K', from: 900, to: 1100 },
        { backend: 'kask', mode: 'error', sidecar: 'A', key: 'K', ops: ['set'], from: 900, to: 1100 },
      ],
      steps: [
        request(0, 'A', 'GET', 'K'),
        phase(500, 'B', rungAbove('migration')),
        request(1000, 'A', 'POST', 'K', value(1)),
        request(1200, 'B', 'POST', 'K', value(1)),
      ],
    });
  });

  it('4: while a long repair pass runs, another sidecar does not serve and backfill a Redis value known stale', async () => {
    // Twelve keys wait for repair and each repair takes 900 ms, so a repair pass lasts ~11 s. Early in B's pass, A
    // deletes K with its Redis DEL refused (Redis now behind); later in the same pass, B reads K.
    const slowKeys = Array.from({ length: 12 }, (_, i) => `q${i}`);
    const windows: FaultWindow[] = [
      { backend: 'redis', mode: 'refuse', sidecar: 'A', key: 'K', from: 17_900, to: 18_100 },
    ];
    for (const key of slowKeys)
      windows.push(
        { backend: 'kask', mode: 'error', key, ops: ['set'], from: 0, to: 100 },
        { backend: 'kask', mode: 'slow', key, ops: ['set'], delayMs: 900, from: 15_000, to: 45_000 },
      );
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K', ...slowKeys],
      legacy: { K: LEGACY },
      windows,
      steps: [
        ...slowKeys.map((key, i) => request(i, 'A', 'POST', key, value(i))),
        request(18_000, 'A', 'DELETE', 'K'),
        request(22_000, 'B', 'GET', 'K'),
      ],
    });
  });

  it('5: a write is answered within MediaWiki’s 3 s even while other writers keep Redis moving and Kask is slow', async () => {
    // Every Kask write of A takes 900 ms; B writes the key again just before each of A's convergence re-reads.
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['K'],
      legacy: {},
      windows: [
        {
          backend: 'kask',
          mode: 'slow',
          sidecar: 'A',
          ops: ['set', 'delete'],
          delayMs: 900,
          from: 0,
          to: 10_000,
        },
      ],
      steps: [
        request(0, 'A', 'POST', 'K', value(0)),
        ...[100, 1000, 1900, 2800, 3700].map((at, i) => request(at, 'B', 'POST', 'K', value(i + 1))),
      ],
    });
  });

  it('6: a key whose Kask writes keep failing does not starve the other queued keys', async () => {
    // P's token range is down for 45 s; k1 failed once, briefly, just after P was queued.
    await expectInvariantsHold({
      sidecars: { A: 'migration', B: 'migration' },
      keys: ['P', 'k1'],
      legacy: {},
      windows: [
        { backend: 'kask', mode: 'error', key: 'P', ops: ['set', 'delete'], from: 0, to: 45_000 },
        { backend: 'kask', mode: 'error', key: 'k1', ops: ['set'], from: 100, to: 200 },
      ],
      steps: [
        request(0, 'A', 'POST', 'P', value(1)),
        request(150, 'A', 'POST', 'k1', value(2)),
        { at: 44_999, kind: 'liveness', key: 'P' },
      ],
    });
  });
});
