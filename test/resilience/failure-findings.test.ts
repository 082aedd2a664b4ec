// The failure-path findings, each replayed against real processes (two or three sidecars sharing one redis-server
// and one Kask emulator with fault control). Each test fails on the protocol before Redis became the single
// authority; docs/protocol.md states the rule they check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCompletionMarker } from '../../src/fleet/completion-marker.js';
import { RedisStore } from '../../src/redis/store.js';
import { REPAIR_QUEUE_KEYS } from '../../src/resilience/repair-ledger.js';
import { sleep, waitFor } from '../support/wait.js';
import {
  envelope,
  type FleetRig,
  type FleetSidecar,
  redisBytes,
  startFleetRig,
  TIMEOUTS,
} from './support/fleet-rig.js';

let rig: FleetRig;
beforeAll(async () => {
  rig = await startFleetRig();
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

let seq = 0;
const newKey = (tag: string) => `global:echo:seen:alert:time:${tag}${process.pid}x${++seq}`;

/** Both stores hold the same value (Kask = convert(Redis)), or both nothing. */
async function converged(key: string, ts: string | null): Promise<boolean> {
  const [kask, redis] = await Promise.all([rig.kaskGet(key), rig.redis.get(key)]);
  return ts === null ? kask === null && redis === null : kask === envelope(ts) && redis === redisBytes(ts);
}

const queueDepth = () => rig.redis.zcard(REPAIR_QUEUE_KEYS.queue);

/** The bulk copy's completion record, which leaving the Redis-reading phases needs. */
async function writeMarker(): Promise<void> {
  const store = new RedisStore({
    url: rig.redisServer.url,
    clusterNodes: [],
    keyPrefix: '',
    connectTimeoutMs: 500,
    commandTimeoutMs: 500,
  });
  await store.connect();
  await writeCompletionMarker(store, {
    completed_at: new Date().toISOString(),
    run_id: 'findings',
    keys_scanned: 0,
    keys_copied: 0,
    keys_skipped: 0,
    keys_failed: 0,
    shards: { count: 1, done: [0] },
    version: '0.1.0',
  });
  await store.close();
}

describe('finding 1 (and 4): a write Redis refuses is never acknowledged, so a backfill cannot undo it', () => {
  let a: FleetSidecar;
  let b: FleetSidecar;
  beforeAll(async () => {
    a = await rig.start({ phase: 'migration', refusedWrites: true });
    b = await rig.start({ phase: 'migration' });
  }, 30_000);

  for (const method of ['DELETE', 'POST'] as const)
    it(`${method} through a sidecar whose Redis writes fail, racing another sidecar's slow backfill`, async () => {
      const key = newKey('f1');
      await rig.redis.set(key, redisBytes('20250101000000'));
      await rig.kaskFaults({ latencyMs: 300, methods: ['POST'], keys: [key] });
      try {
        // B answers from Redis and starts its backfill POST (slow); A's write lands in the middle of it.
        expect(await b.send('GET', key)).toMatchObject({ status: 200, body: envelope('20250101000000') });
        await sleep(50);
        const write = await a.send(method, key, method === 'POST' ? envelope('20260101000000') : undefined);
        // Redis refused it: not acknowledged, and Kask untouched by it.
        expect(write.status).toBe(500);
      } finally {
        await rig.kaskFaults({});
      }
      await waitFor(() => converged(key, '20250101000000'), 5_000, 'the backfill to settle');
      for (const s of [a, b])
        expect(await s.send('GET', key)).toMatchObject({ status: 200, body: envelope('20250101000000') });
      // Anything queued on the way (a backfill slower than the Kask timeout on a busy machine) drains.
      await waitFor(async () => (await queueDepth()) === 0, 10_000, 'the repair queue to drain');
      expect(await converged(key, '20250101000000')).toBe(true);
    });
});

describe("finding 2: the repairer's own timed-out Kask write is followed by a repair after it could land", () => {
  it('a repair POST that lands late never leaves Kask behind a newer acknowledged write', async () => {
    const s = await rig.start({ phase: 'migration' });
    const key = newKey('f2');
    // A set whose Kask half fails: acknowledged nowhere, in Redis, queued for repair (due one settle time later).
    await rig.kaskFaults({ errorRate: 1, methods: ['POST'], keys: [key] });
    expect((await s.send('POST', key, envelope('20260202000100'))).status).toBe(500);
    // The repair's POST is slower than the Kask timeout: it is abandoned by the sidecar and lands 1.2 s later.
    await rig.kaskFaults({ latencyMs: 1200, methods: ['POST'], keys: [key] });
    const failures = await s.metric('kmp_repair_failures_total', { backend: 'kask' });
    await waitFor(
      async () => (await s.metric('kmp_repair_failures_total', { backend: 'kask' })) > failures,
      5_000,
      'the repair to time out',
    );
    await rig.kaskFaults({});
    // A newer write, acknowledged while the abandoned repair POST is still on its way.
    expect((await s.send('POST', key, envelope('20260202000300'))).status).toBe(201);
    await sleep(1500); // the abandoned POST of the older value has landed by now
    await waitFor(
      async () => (await converged(key, '20260202000300')) && (await queueDepth()) === 0,
      10_000,
      'the re-repair after the settle time',
    );
  });
});

describe('finding 3: phase changes', () => {
  it('(a) a switch lets the old phase’s backfill finish before the new phase serves, so a delete after it sticks', async () => {
    const s = await rig.start({ phase: 'migration' });
    const key = newKey('f3a');
    await rig.redis.set(key, redisBytes('20250303000000'));
    // Slow, but inside the Kask timeout: the backfill lands, late.
    await rig.kaskFaults({ latencyMs: 350, methods: ['POST'], keys: [key] });
    expect((await s.send('GET', key)).status).toBe(200); // the backfill POST is now on its way, slowly
    const started = performance.now();
    const change = await s.setPhase('kask-primary', true);
    expect(change.status).toBe(200);
    // The change returned only once the backfill had landed.
    expect(performance.now() - started).toBeGreaterThan(250);
    expect(await rig.kaskGet(key)).toBe(envelope('20250303000000'));
    await rig.kaskFaults({});
    expect((await s.send('DELETE', key)).status).toBe(204);
    await sleep(300);
    expect(await rig.kaskGet(key)).toBeNull();
    expect((await s.send('GET', key)).status).toBe(404);
  });

  it('(b) the guard keeps the fleet on neighbouring phases, naming the sidecars in the way', async () => {
    // A fresh pair, alone in the fleet: earlier suites' sidecars are stopped with their rig.
    await rig.close();
    rig = await startFleetRig();
    await writeMarker();
    const a = await rig.start({ phase: 'migration' });
    const b = await rig.start({ phase: 'migration' });
    await waitFor(async () => (await rig.redis.hlen('kmp:{fleet}:members')) === 2, 5_000, 'both heartbeats');
    expect(await b.setPhase('kask-primary')).toMatchObject({ status: 200 });
    const tooFar = await b.setPhaseWhenSettled('redis-shadow');
    expect(tooFar.status).toBe(409);
    expect(String(tooFar.json.reason)).toMatch(/\(migration\)/);
    expect(await a.setPhase('kask-primary')).toMatchObject({ status: 200 });
    // a still settles migration for one request deadline: b waits for it.
    const early = await b.setPhase('redis-shadow');
    expect(early.status).toBe(409);
    expect(String(early.json.reason)).toContain('still settling migration');
    expect(await b.setPhaseWhenSettled('redis-shadow')).toMatchObject({ status: 200 });
    const early2 = await b.setPhaseWhenSettled('kask-only');
    expect(early2.status).toBe(409);
    expect(String(early2.json.reason)).toMatch(/\(kask-primary\)/); // a is still in kask-primary
    expect(await a.setPhaseWhenSettled('redis-shadow')).toMatchObject({ status: 200 });
    expect(await b.setPhaseWhenSettled('kask-only')).toMatchObject({ status: 200 });
    // b's kask-only writes skip Redis: nobody may trust Redis again, and a can never fall back below redis-shadow.
    const back = await a.setPhase('kask-primary');
    expect(back.status).toBe(409);
    // A delete on the kask-only host stays deleted although a is still writing Redis.
    const key = newKey('f3b');
    expect((await a.send('POST', key, envelope('20260303000000'))).status).toBe(201);
    expect((await b.send('DELETE', key)).status).toBe(204);
    await sleep(300);
    for (const s of [a, b]) expect((await s.send('GET', key)).status).toBe(404);
    // A sidecar started from a stale config in migration is told, loudly, why the guard would have refused it.
    const late = await rig.start({ phase: 'migration' });
    await waitFor(
      () => late.proc.output().includes('"event.action":"fleet.check"'),
      5_000,
      'the fleet check',
    );
    const line = late.proc
      .output()
      .split('\n')
      .find((l) => l.includes('"event.action":"fleet.check"'))!;
    expect(line).toContain('"log.level":"error"');
    expect(line).toContain('runs kask-only');
    expect(line).toContain('a host has run kask-only');
  }, 60_000);
});

describe('finding 5: one deadline covers a write and all its convergence rounds', () => {
  it('writers racing on one key through two sidecars, with Kask slow, all answer within the deadline', async () => {
    const a = await rig.start({ phase: 'migration' });
    const b = await rig.start({ phase: 'migration' });
    const key = newKey('f5');
    await rig.kaskFaults({ latencyMs: 250, jitterMs: 100, methods: ['POST'] });
    const answers: number[] = [];
    try {
      await Promise.all(
        Array.from({ length: 6 }, async (_, w) => {
          for (let i = 0; i < 4; i++) {
            const s = w % 2 === 0 ? a : b;
            const ts = `2026050${w}0000${String(i).padStart(2, '0')}`;
            const res = await s.send('POST', key, envelope(ts));
            expect([201, 500]).toContain(res.status);
            answers.push(res.ms);
          }
        }),
      );
    } finally {
      await rig.kaskFaults({});
    }
    // The deadline, plus one call's timeout at most (a round starts only if it fits), plus scheduling slack.
    expect(Math.max(...answers)).toBeLessThan(TIMEOUTS.deadlineMs + 300);
    await waitFor(
      async () => {
        const [kask, redis] = await Promise.all([rig.kaskGet(key), rig.redis.get(key)]);
        return (
          (await queueDepth()) === 0 &&
          kask !== null &&
          redis !== null &&
          kask === envelope(redis.slice(6, -2))
        );
      },
      15_000,
      'Kask to converge to Redis',
    ).catch(async (err) => {
      throw new Error(
        `${err}: kask=${await rig.kaskGet(key)} redis=${await rig.redis.get(key)} queue=${await queueDepth()}`,
      );
    });
  }, 60_000);
});

describe('finding 6: one failing key never blocks the repair queue', () => {
  it('keys queued behind a key whose Kask writes keep failing are repaired, and the failing one backs off', async () => {
    const s = await rig.start({ phase: 'migration' });
    const poisoned = newKey('f6poison');
    const others = Array.from({ length: 20 }, () => newKey('f6'));
    await rig.kaskFaults({ errorRate: 1, methods: ['POST'] });
    expect((await s.send('POST', poisoned, envelope('20260606000000'))).status).toBe(500);
    for (const key of others)
      expect((await s.send('POST', key, envelope('20260606000001'))).status).toBe(500);
    // Only the poisoned key keeps failing (its token range is down, say).
    await rig.kaskFaults({ errorRate: 1, methods: ['POST'], keys: [poisoned] });
    try {
      await waitFor(
        async () => (await Promise.all(others.map((k) => converged(k, '20260606000001')))).every(Boolean),
        8_000,
        'the other keys to be repaired',
      );
      await waitFor(
        async () =>
          Number((await rig.redis.hget(REPAIR_QUEUE_KEYS.generations, poisoned))?.split(':')[1]) >= 2,
        8_000,
        'the poisoned key to fail twice',
      );
      await waitFor(async () => (await queueDepth()) === 1, 8_000, 'only the poisoned key to stay queued');
      // Its next attempt is backed off into the future, and its failures are counted apart from requests'.
      expect(Number(await rig.redis.zscore(REPAIR_QUEUE_KEYS.queue, poisoned))).toBeGreaterThan(Date.now());
      // Counted by whichever sidecars' repairers took it, apart from the request path (whose breaker stays closed).
      let failures = 0;
      for (const sidecar of rig.sidecars)
        failures += await sidecar.metric('kmp_repair_failures_total', { backend: 'kask' });
      expect(failures).toBeGreaterThanOrEqual(2);
      expect(await s.metric('kmp_breaker_state', { backend: 'kask' })).toBe(0);
    } finally {
      await rig.kaskFaults({});
    }
    await waitFor(
      async () => (await converged(poisoned, '20260606000000')) && (await queueDepth()) === 0,
      10_000,
      'the poisoned key, once Kask takes it',
    );
  }, 60_000);
});
