// The migration phase under one fault at a time (docs/protocol.md), with exact expectations: where each answer
// comes from, how fast it comes, what is counted and queued, and how the stores heal afterwards.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { problemBytes } from '../contract/kask-contract.js';
import { BASE, metricValue, type Rig, startRig, TIMEOUTS } from '../support/rig.js';
import { sleep, waitFor } from '../support/wait.js';
import { freshValue } from './support/load.js';

/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 250;

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
}, 30_000);
afterAll(async () => {
  await rig?.close();
});
beforeEach(async () => {
  await rig.kaskFaults({});
  // A half-open breaker closes on its next successful call: send one (the repairer does not use these breakers).
  // Closed breakers are not enough: after a stall the data path's own Redis connection may still be reconnecting
  // while the other one, which carries other calls through the same breaker, already answers.
  await waitFor(
    async () => {
      await send('GET', newKey());
      return metricValue(await rig.metrics(), 'kmp_breaker_state') === 0 && (await rig.readyz()) === 200;
    },
    8_000,
    'breakers closed and every connection ready',
  );
});

let seq = 0;
const newKey = () => `global:echo:seen:message:time:mf${process.pid}x${++seq}`;

async function send(method: 'GET' | 'POST' | 'DELETE', key: string, body?: string) {
  const started = performance.now();
  const res = await rig.pool.request({ method, path: BASE + encodeURIComponent(key), body });
  const text = Buffer.from(await res.body.arrayBuffer()).toString('latin1');
  return { status: res.statusCode, body: text, ms: performance.now() - started };
}

const metric = async (name: string, labels: Record<string, string> = {}) =>
  metricValue(await rig.metrics(), name, labels);

async function openBreaker(backend: 'kask' | 'redis', failOnce: () => Promise<unknown>): Promise<void> {
  await waitFor(
    async () => {
      await failOnce();
      return (await metric('kmp_breaker_state', { backend })) === 2;
    },
    10_000,
    `the ${backend} breaker to open`,
    0,
  );
}

describe('migration phase, Kask failing', () => {
  it('answers a GET from Redis within the Kask budget when Kask hangs, without backfilling', async () => {
    const key = newKey();
    await rig.redis.set(key, 's:14:"20250101000000";');
    const failovers = await metric('kmp_reads_total', { source: 'redis_failover' });
    const backfills = await metric('kmp_backfills_total');
    await rig.kaskFaults({ mode: 'hang' });
    const res = await send('GET', key);
    expect(res).toMatchObject({ status: 200, body: 'JSON.."20250101000000"' });
    expect(res.ms).toBeLessThan(TIMEOUTS.kaskMs + TIMEOUTS.redisMs + SLACK_MS);
    await rig.kaskFaults({});
    await sleep(200); // a backfill would have been started with the answer
    expect(await metric('kmp_reads_total', { source: 'redis_failover' })).toBe(failovers + 1);
    expect(await metric('kmp_backfills_total')).toBe(backfills);
    expect(await rig.kaskGet(key)).toBeNull();
  });

  it("answers a failed set with Kask's 500 problem, keeps it in Redis, and repairs Kask once it is back", async () => {
    const key = newKey();
    const value = freshValue();
    await rig.kaskFaults({ errorRate: 1, methods: ['POST'] });
    const res = await send('POST', key, value);
    expect(res.status).toBe(500);
    expect(res.body).toBe(problemBytes(500, BASE + key));
    expect(await rig.redis.get(key)).toBe(value.replace(/^JSON\.\."(\d+)"$/, 's:14:"$1";'));
    const repaired = await metric('kmp_repairs_total', { outcome: 'repaired' });
    await rig.kaskFaults({});
    await waitFor(
      async () =>
        (await rig.kaskGet(key))?.toString() === value &&
        (await metric('kmp_repairs_total', { outcome: 'repaired' })) > repaired,
      10_000,
      'the repair',
    );
  });

  it('repairs a failed delete the same way: Redis first, Kask once it is back', async () => {
    const key = newKey();
    expect((await send('POST', key, freshValue())).status).toBe(201);
    await rig.kaskFaults({ errorRate: 1, methods: ['DELETE'] });
    expect((await send('DELETE', key)).status).toBe(500);
    expect(await rig.redis.exists(key)).toBe(0);
    await rig.kaskFaults({});
    await waitFor(async () => (await rig.kaskGet(key)) === null, 10_000, 'the repair of the delete');
  });

  it('fails fast once the Kask breaker is open, logs the transition, and exports it', async () => {
    const key = newKey();
    await rig.redis.set(key, 's:14:"20250202000000";');
    await rig.kaskFaults({ errorRate: 1 });
    await openBreaker('kask', () => send('GET', newKey()));
    await rig.kaskFaults({ mode: 'hang' }); // an open breaker must not even try
    const read = await send('GET', key);
    expect(read).toMatchObject({ status: 200, body: 'JSON.."20250202000000"' });
    expect(read.ms).toBeLessThan(TIMEOUTS.redisMs);
    const write = await send('POST', newKey(), freshValue());
    expect(write.status).toBe(500);
    expect(write.ms).toBeLessThan(TIMEOUTS.redisMs);
    const logged = rig.sidecar
      .output()
      .split('\n')
      .filter((l) => l.includes('"event.action":"breaker"') && l.includes('"kmp.backend":"kask"'));
    expect(
      logged.some((l) => l.includes('"kmp.breaker.state":"open"') && l.includes('"log.level":"warn"')),
    ).toBe(true);
  });
});

describe('migration phase, Redis failing', () => {
  it('serves Kask hits as usual and answers Kask misses 404 within the Redis budget, then at once', async () => {
    const hit = newKey();
    const value = freshValue();
    expect((await send('POST', hit, value)).status).toBe(201);
    const pauser = rig.redis.duplicate();
    // A hung Redis for 2.5 s (long enough for every step below; commands queue until it ends).
    await pauser.call('CLIENT', 'PAUSE', '2500', 'ALL');
    try {
      const h = await send('GET', hit);
      expect(h).toMatchObject({ status: 200, body: value });
      expect(h.ms).toBeLessThan(SLACK_MS);
      const miss = await send('GET', newKey());
      expect(miss.status).toBe(404);
      expect(miss.ms).toBeLessThan(TIMEOUTS.redisMs + SLACK_MS);
      await openBreaker('redis', () => send('GET', newKey()));
      const fast = await send('GET', newKey());
      expect(fast.status).toBe(404);
      expect(fast.ms).toBeLessThan(TIMEOUTS.redisMs / 2);
    } finally {
      pauser.disconnect();
    }
  });

  it('refuses writes while Redis is down (500, Kask untouched), so there is nothing to catch up afterwards', async () => {
    const written = newKey();
    const deleted = newKey();
    const before = freshValue();
    expect((await send('POST', written, before)).status).toBe(201);
    expect((await send('POST', deleted, before)).status).toBe(201);
    const failures = await metric('kmp_dual_write_failures_total', { backend: 'redis' });
    await rig.redisServer.kill();
    const set = await send('POST', written, freshValue());
    expect(set.status).toBe(500);
    expect(set.body).toBe(problemBytes(500, BASE + written));
    expect((await send('DELETE', deleted)).status).toBe(500);
    // Redis is the single authority: Kask never gets ahead of it with a change nobody acknowledged.
    expect((await rig.kaskGet(written))?.toString()).toBe(before);
    expect((await rig.kaskGet(deleted))?.toString()).toBe(before);
    expect(await metric('kmp_dual_write_failures_total', { backend: 'redis' })).toBe(failures + 2);
    // Reads keep working from Kask.
    expect(await send('GET', written)).toMatchObject({ status: 200, body: before });
    await rig.redisServer.restart();
    await waitFor(
      async () => {
        await send('GET', newKey());
        return (await metric('kmp_breaker_state', { backend: 'redis' })) === 0;
      },
      8_000,
      'Redis back',
    );
    for (const key of [written, deleted]) {
      expect(await send('GET', key)).toMatchObject({ status: 200, body: before });
      expect(await rig.redis.get(key)).toBe(before.replace(/^JSON\.\."(\d+)"$/, 's:14:"$1";'));
    }
  });
});
