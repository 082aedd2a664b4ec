// Fault injection under steady load, with real processes: Kask slowed, failing, hung and killed; Redis hung and
// killed. Afterwards (recovery, then the repair queue drained) every key must hold the same value in both stores,
// that value must be the last acknowledged write or a later attempt, and no request may have taken longer than the
// budget — measured here, on the client side, as MediaWiki would feel it.
//
// "Stopping Kask" is done three ways: hang mode (Kask accepts and never answers: a stalled Cassandra), error mode
// (every request answers 500: Cassandra down), and a kill of the forwarder that stands in for Kask's process
// (connections cut, new ones refused). The emulator keeps its data through the kill, as Cassandra would: killing
// the emulator itself would model losing Kask's storage, which is not a failure the sidecar can heal.
// Redis runs with an fsync'd append-only file, so SIGKILL + restart loses nothing it acknowledged (production Redis
// persists or replicates; a Redis wiped clean is a job for `copy`/`verify`, not for the sidecar).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisToEnvelope } from '../../src/codec/convert.js';
import { problemBytes } from '../contract/kask-contract.js';
import { BASE, BUDGET_MS, metricValue, type Rig, startRig } from '../support/rig.js';
import { sleep, waitFor } from '../support/wait.js';
import { allowedFinal, everWritten, type KeyHistory, Load } from './support/load.js';

const VALUES = { type: 'JSON' as const, hmacKey: null };
const FAULT_MS = 800;
const HEALTHY_MS = 200;

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

/** `n` fresh keys; the first `seeded` hold a legacy value in Redis only, as before the bulk copy. */
async function makeKeys(tag: string, n: number, seeded: number): Promise<KeyHistory[]> {
  const keys: KeyHistory[] = [];
  for (let i = 0; i < n; i++) {
    const key = `global:echo:seen:alert:time:${tag}${process.pid}x${i}`;
    let seed: string | null = null;
    if (i < seeded) {
      const ts = `2025${String(i).padStart(10, '0')}`;
      await rig.redis.set(key, `s:14:"${ts}";`);
      seed = `JSON.."${ts}"`;
    }
    keys.push({ key, seed, ops: [] });
  }
  return keys;
}

/** Watches kmp_breaker_state while the scenario runs: the highest state seen per backend. */
function watchBreakers(): { stop(): Promise<Record<'kask' | 'redis', number>> } {
  const seen = { kask: 0, redis: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const text = await rig.metrics().catch(() => '');
      for (const backend of ['kask', 'redis'] as const)
        seen[backend] = Math.max(seen[backend], metricValue(text, 'kmp_breaker_state', { backend }));
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** Waits for the backend to be let through again, then leaves a short healthy stretch before the next fault. */
async function recovered(backend: 'kask' | 'redis'): Promise<void> {
  await waitFor(
    async () => metricValue(await rig.metrics(), 'kmp_breaker_state', { backend }) === 0,
    8_000,
    `the ${backend} breaker to close`,
  );
  await sleep(HEALTHY_MS);
}

async function withFault(apply: () => Promise<void>, clear: () => Promise<void>): Promise<void> {
  await apply();
  await sleep(FAULT_MS);
  await clear();
}

/** Recovered and repaired: both breakers closed and the repair queue empty on three passes in a row. */
async function drained(): Promise<string> {
  let zeroes = 0;
  let text = '';
  await waitFor(
    async () => {
      text = await rig.metrics();
      const idle =
        metricValue(text, 'kmp_repair_queue_depth') === 0 && metricValue(text, 'kmp_breaker_state') === 0;
      zeroes = idle ? zeroes + 1 : 0;
      return zeroes >= 3;
    },
    20_000,
    'the repair queue to drain',
    300,
  );
  return text;
}

/** Every answer is one Kask could give, within the budget; GET hits return something that was written. */
function answerProblems(keys: KeyHistory[]): string[] {
  const problems: string[] = [];
  for (const h of keys)
    for (const op of h.ops) {
      const ok = { GET: [200, 404], POST: [201, 500], DELETE: [204, 500] }[op.method];
      if (!ok.includes(op.status))
        problems.push(`${op.method} ${h.key}: ${op.status} ${op.body.slice(0, 200)}`);
      if (op.status === 500 && op.body !== problemBytes(500, BASE + h.key))
        problems.push(`${op.method} ${h.key}: 500 without Kask's problem body`);
      if (op.method === 'GET' && op.status === 200 && !everWritten(h).has(op.body))
        problems.push(`GET ${h.key}: answered ${op.body}, never written`);
      if (op.ms > BUDGET_MS)
        problems.push(`${op.method} ${h.key}: took ${op.ms.toFixed(0)} ms > ${BUDGET_MS} ms`);
    }
  return problems;
}

/** Kask = convert(Redis) for every key, and that value is the last acknowledged write or a later attempt. */
async function storeProblems(keys: KeyHistory[]): Promise<string[]> {
  const problems: string[] = [];
  for (const h of keys) {
    const stored = await rig.redis.getBuffer(h.key);
    const converted = stored === null ? null : redisToEnvelope(stored, VALUES);
    const redisSide = converted?.ok ? converted.bytes.toString('latin1') : null;
    const kaskSide = (await rig.kaskGet(h.key))?.toString('latin1') ?? null;
    const acknowledged = h.ops.some(
      (op) => (op.method === 'POST' && op.status === 201) || (op.method === 'DELETE' && op.status === 204),
    );
    // Legacy data nobody managed to change (every write refused): Kask has it backfilled, or not yet.
    const untouched = !acknowledged && redisSide === h.seed && (kaskSide === null || kaskSide === h.seed);
    const mutated = h.ops.some((op) => op.method !== 'GET');
    if (untouched) continue;
    if (!mutated) {
      // Only read: Redis keeps the legacy value; Kask has it (backfilled) or not yet.
      if (redisSide !== h.seed || (kaskSide !== null && kaskSide !== h.seed))
        problems.push(`${h.key} (read only): kask=${kaskSide} redis=${redisSide} seed=${h.seed}`);
      continue;
    }
    if (kaskSide !== redisSide) problems.push(`${h.key}: kask=${kaskSide} ≠ redis=${redisSide}`);
    const allowed = allowedFinal(h);
    if (!allowed.has(kaskSide))
      problems.push(`${h.key}: holds ${kaskSide}, acknowledged history allows ${[...allowed].join(' | ')}`);
  }
  return problems;
}

describe('fault injection under load (migration phase)', () => {
  it('Kask slow, failing, hung and killed: reads fail over, writes are repaired, nothing is lost', async () => {
    const keys = await makeKeys('kf', 80, 20);
    const load = new Load(rig.pool, keys, 4, 15);
    const breakers = watchBreakers();
    load.start();
    await sleep(400);
    // Slower than the Kask budget: every call times out (and late writes still land in Kask's storage).
    await withFault(
      () => rig.kaskFaults({ latencyMs: 600 }),
      () => rig.kaskFaults({}),
    );
    await recovered('kask');
    await withFault(
      () => rig.kaskFaults({ errorRate: 1 }),
      () => rig.kaskFaults({}),
    );
    await recovered('kask');
    await withFault(
      () => rig.kaskFaults({ mode: 'hang' }),
      () => rig.kaskFaults({}),
    );
    await recovered('kask');
    await withFault(
      () => rig.forwarder.stop(),
      () => rig.forwarder.start(),
    );
    await recovered('kask');
    // Slow but inside the budget: no failure at all.
    await withFault(
      () => rig.kaskFaults({ latencyMs: 100, jitterMs: 50 }),
      () => rig.kaskFaults({}),
    );
    await load.stop();
    const seen = await breakers.stop();

    expect(answerProblems(keys)).toEqual([]);
    const metrics = await drained();
    expect(await storeProblems(keys)).toEqual([]);
    expect(await rig.healthz()).toBe(200);
    expect(seen.kask).toBe(2);
    expect(metricValue(metrics, 'kmp_reads_total', { source: 'redis_failover' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'kmp_repairs_total', { outcome: 'repaired' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'kmp_repairs_total', { outcome: 'lost' })).toBe(0);
    const ops = load.ops;
    expect(ops.filter((op) => op.status === 500).length).toBeGreaterThan(0);
    expect(ops.filter((op) => op.status === 201).length).toBeGreaterThan(5); // healthy stretches are short
  }, 60_000);

  it('Redis hung and killed: reads keep answering, writes are refused with nothing half-done, stores agree', async () => {
    const keys = await makeKeys('rf', 80, 20);
    const load = new Load(rig.pool, keys, 4, 15);
    const breakers = watchBreakers();
    const before = await rig.metrics();
    load.start();
    await sleep(400);
    // A hung Redis: every client's commands wait until the pause ends, so each call meets the Redis budget.
    const pauser = rig.redis.duplicate();
    await withFault(
      async () => void (await pauser.call('CLIENT', 'PAUSE', String(FAULT_MS), 'ALL')),
      async () => {},
    );
    pauser.disconnect();
    await recovered('redis');
    await withFault(
      () => rig.redisServer.kill(),
      () => rig.redisServer.restart(),
    );
    await recovered('redis');
    await load.stop();
    const seen = await breakers.stop();

    expect(answerProblems(keys)).toEqual([]);
    const metrics = await drained();
    expect(await storeProblems(keys)).toEqual([]);
    expect(await rig.healthz()).toBe(200);
    expect(seen.redis).toBe(2);
    const delta = (name: string, labels: Record<string, string>) =>
      metricValue(metrics, name, labels) - metricValue(before, name, labels);
    expect(delta('kmp_dual_write_failures_total', { backend: 'redis' })).toBeGreaterThan(0);
    expect(delta('kmp_repairs_total', { outcome: 'lost' })).toBe(0);
    // Redis is the single authority: while it was away, writes were refused (and nothing reached Kask alone).
    expect(load.ops.filter((op) => op.method === 'POST' && op.status === 500).length).toBeGreaterThan(0);
    expect(delta('kmp_dual_write_failures_total', { backend: 'kask' })).toBe(0);
  }, 60_000);
});
