// A copy while MediaWiki traffic runs: two migration-phase sidecars take writes, deletes and reads of the keys
// being copied. Afterwards Kask must equal convert(Redis) for every key: no write clobbered by the copy, no
// deleted key brought back.
import { Pool } from 'undici';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { percentEncode } from '../../src/net/percent-encoding.js';
import { jsonReport } from '../support/cli-run.js';
import { type Spawned, spawnCli } from '../support/processes.js';
import { sleep } from '../support/wait.js';
import { copyCli, echoKey, type Pair, seedEcho, startPair } from './support.js';

const KEYS = 6000;

let pair: Pair;
let sidecars: Spawned[] = [];
// A fresh Redis, Kask and sidecars per run: a second copy would rightly skip what the first left in Kask.
beforeEach(async () => {
  pair = await startPair();
  sidecars = await Promise.all(
    [0, 1].map(() =>
      spawnCli([
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--phase',
        'migration',
        '--kask-url',
        pair.kaskUrl,
        '--redis-url',
        pair.redisUrl,
      ]),
    ),
  );
});
afterEach(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await pair?.stop();
});

// Once as Kask is usually reached, once with pipelined Kask requests (copy --pipeline).
it.each([1, 4])(
  'leaves Kask equal to convert(Redis) for every key when writers and deleters run during the copy (--pipeline %i)',
  async (pipeline) => {
    const keys = await seedEcho(pair.redis, KEYS, { ts: '20250101000000' });
    const extra = Array.from({ length: 200 }, (_, i) => echoKey(KEYS + i)); // created during the copy
    const pools = sidecars.map((s) => ({
      pool: new Pool(new URL(s.url).origin, { connections: 8 }),
      base: new URL(s.url).pathname,
    }));
    let stop = false;
    let ops = 0;
    const statuses = new Map<number, number>();
    const traffic = async (worker: number): Promise<void> => {
      let n = 0;
      while (!stop) {
        const { pool, base } = pools[(worker + n++) % 2]!;
        const all = Math.random() < 0.1 ? extra : keys;
        const key = all[Math.floor(Math.random() * all.length)]!;
        const path = base + percentEncode(Buffer.from(key));
        const roll = Math.random();
        const ts = `2026112912${String(Math.floor(Math.random() * 6000)).padStart(4, '0')}`;
        const res =
          roll < 0.5
            ? await pool.request({
                method: 'POST',
                path,
                body: `JSON.."${ts}"`,
                headers: { 'content-type': 'application/octet-stream' },
              })
            : roll < 0.8
              ? await pool.request({ method: 'DELETE', path })
              : await pool.request({ method: 'GET', path });
        await res.body.dump();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        ops++;
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => traffic(w));
    const run = await copyCli(pair, '--rate', '1500', '--pipeline', String(pipeline));
    stop = true;
    await Promise.all(workers);
    await Promise.all(pools.map((p) => p.pool.close()));
    expect(run.code, run.stderr).toBe(0);
    const report = jsonReport(run);
    expect(report.failed).toBe(0);
    expect(ops).toBeGreaterThan(500); // traffic really overlapped the copy
    expect(
      [...statuses.keys()].every((c) => [200, 201, 204, 404].includes(c)),
      JSON.stringify([...statuses]),
    ).toBe(true);
    // Background backfills and convergence of the last requests settle within moments.
    let diverged: string[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      diverged = await pair.kask.divergent(pair.redis, [...keys, ...extra]);
      if (diverged.length === 0) break;
      await sleep(250);
    }
    expect(diverged).toEqual([]);
  },
  120_000,
);
