// The copy under a Kask outage: it backs off instead of failing every key, resumes when Kask answers again, and
// serves its progress as Prometheus metrics while it runs.
import { Pool } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../src/redis/local-server.js';
import { jsonReport, runCli } from '../support/cli-run.js';
import { sleep } from '../support/wait.js';
import { type Pair, seedEcho, startPair } from './support.js';

let pair: Pair;
beforeAll(async () => {
  pair = await startPair(['--fault-control']);
});
afterAll(async () => {
  await pair?.stop();
});

async function kaskFaults(settings: Record<string, unknown>): Promise<void> {
  const pool = new Pool(new URL(pair.kaskUrl).origin);
  const res = await pool.request({
    method: 'PUT',
    path: '/_emulator/faults',
    body: JSON.stringify(settings),
  });
  await res.body.dump();
  await pool.close();
  expect(res.statusCode).toBe(200);
}

async function scrape(port: number): Promise<string | null> {
  const pool = new Pool(`http://127.0.0.1:${port}`);
  try {
    const res = await pool.request({ method: 'GET', path: '/metrics' });
    return await res.body.text();
  } catch {
    return null;
  } finally {
    await pool.close();
  }
}

it('waits out a Kask outage, then finishes the copy; metrics show progress', async () => {
  const keys = await seedEcho(pair.redis, 4000);
  const port = await freePort();
  const copying = runCli([
    'copy',
    '--redis-url',
    pair.redisUrl,
    '--kask-url',
    pair.kaskUrl,
    '--rate',
    '1000',
    '--shard',
    '0/1',
    '--metrics-listen',
    `127.0.0.1:${port}`,
    '--json',
  ]);
  let metrics: string | null = null;
  while (!metrics?.includes('outcome="copied"')) metrics = await scrape(port);
  expect(metrics).toMatch(/kmp_copy_estimated_keys\{shard="0\/1"\} 4000/);
  expect(metrics).toMatch(/kmp_copy_done\{shard="0\/1"\} 0/);

  await kaskFaults({ errorRate: 1 });
  await sleep(2500);
  await kaskFaults({});
  const run = await copying;
  const report = jsonReport(run);
  expect(report).toMatchObject({ finished: true, scanned: 4000 });
  // Keys in flight when the outage began, and those started before the pacer saw the errors, may fail (then wait in
  // the repair queue): at most two waves of the concurrency. The rest waited and were copied.
  const failed = report.failed as number;
  expect(failed).toBeLessThanOrEqual(64);
  expect(report.copied as number).toBe(4000 - failed);
  expect(run.code).toBe(failed === 0 ? 0 : 1);
  const queued = await pair.redis.zcard('kmp:{repair}:due');
  expect(queued).toBe(failed);
  expect(await pair.kask.countPresent(keys)).toBe(4000 - failed);
}, 120_000);
