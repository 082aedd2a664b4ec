// SPEC §4 race test: concurrent writers, deleters and backfilling readers through two sidecar processes sharing one
// Redis and one Kask. At quiescence Kask must equal the converted Redis value for every key (or both be absent).
// Each deliberately broken protocol variant must be caught, which shows the test can fail.
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisToEnvelope } from '../../src/codec/convert.js';
import { useBackends } from '../support/backends.js';
import { type Spawned, spawnCli, spawnProcess } from '../support/processes.js';

const VALUES = { type: 'JSON' as const, hmacKey: null };
const FIXTURE = fileURLToPath(new URL('./variant-sidecar.mjs', import.meta.url));

const backends = useBackends(['--fault-control']);
let kaskPool: Pool;

beforeAll(async () => {
  kaskPool = new Pool(new URL(backends.kask.url).origin, { connections: 8 });
  // Random Kask latency makes concurrent requests overtake each other, as they do across real hosts.
  const res = await kaskPool.request({
    method: 'PUT',
    path: '/_emulator/faults',
    body: JSON.stringify({ jitterMs: 6 }),
  });
  await res.body.dump();
});
afterAll(async () => {
  await kaskPool?.close();
});

function sidecarFlags(): string[] {
  return [
    '--listen',
    '127.0.0.1:0',
    '--kask.url',
    backends.kask.url,
    '--redis.url',
    backends.redisServer.url,
  ];
}

async function startPair(variant: string | null): Promise<Spawned[]> {
  const flags = sidecarFlags();
  const one = () =>
    variant === null
      ? spawnCli([
          'serve',
          '--phase',
          'migration',
          ...flags.map((f) => f.replace(/^--(kask|redis)\.url$/, '--$1-url')),
        ])
      : spawnProcess([FIXTURE, variant, ...flags]);
  return Promise.all([one(), one()]);
}

const rand = (n: number) => Math.floor(Math.random() * n);
const seenTime = () => `2026${String(rand(1e10)).padStart(10, '0')}`;

/**
 * One burst: a fresh key (seeded in Redis only half the time, as legacy data), then every client fires two random
 * operations at it at once through one of the two sidecars: GETs (which backfill), POSTs and DELETEs collide.
 */
async function runBurst(sidecars: Spawned[], pools: Pool[], id: string): Promise<string | null> {
  // Alternate wide bursts (many colliding operations) with narrow ones (a lone race decides the final state).
  const [clients, ops] = rand(2) === 0 ? [8, 2] : [3, 1];
  const key = `global:echo:seen:alert:time:${id}`;
  if (rand(2) === 0) await backends.redis.setex(key, 3600, `s:14:"${seenTime()}";`);
  const client = async (c: number) => {
    const pool = pools[c % pools.length]!;
    const path = new URL(sidecars[c % sidecars.length]!.url).pathname + encodeURIComponent(key);
    for (let op = 0; op < ops; op++) {
      await new Promise((resolve) => setTimeout(resolve, rand(15))); // staggered starts: ops land mid-flight of others
      const dice = rand(10);
      const res =
        dice < 4
          ? await pool.request({ method: 'GET', path })
          : dice < 8
            ? await pool.request({
                method: 'POST',
                path,
                body: `JSON.."${seenTime()}"`,
                headers: { 'content-type': 'application/octet-stream' },
              })
            : await pool.request({ method: 'DELETE', path });
      await res.body.dump();
      expect([200, 201, 204, 404]).toContain(res.statusCode);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  return divergence(key);
}

/** Null when Kask holds convert(Redis) (or both are absent); waits out background backfills and convergence first. */
async function divergence(key: string): Promise<string | null> {
  let found: string | null = null;
  for (let attempt = 0; attempt < 10; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 60));
    const stored = await backends.redis.getBuffer(key);
    const converted = stored === null ? null : redisToEnvelope(stored, VALUES);
    const expected = converted?.ok ? converted.bytes.toString('latin1') : null;
    const res = await kaskPool.request({ method: 'GET', path: `/echoseen/v1/${encodeURIComponent(key)}` });
    let actual: string | null = null;
    if (res.statusCode === 200) actual = Buffer.from(await res.body.arrayBuffer()).toString('latin1');
    else await res.body.dump();
    if (actual === expected) return null;
    found = `${key}: kask=${actual} redis→${expected}`;
  }
  return found;
}

async function withSidecars<T>(
  variant: string | null,
  body: (sidecars: Spawned[], pools: Pool[]) => Promise<T>,
): Promise<T> {
  const sidecars = await startPair(variant);
  const pools = sidecars.map((s) => new Pool(new URL(s.url).origin, { connections: 8 }));
  try {
    return await body(sidecars, pools);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(sidecars.map((s) => s.stop()));
  }
}

describe('dual-phase protocol under concurrent writers, deleters and backfilling readers', () => {
  it('keeps Kask equal to the converted Redis value after every burst, 20 rounds of 5 bursts', async () => {
    await withSidecars(null, async (sidecars, pools) => {
      const diverged: string[] = [];
      for (let round = 0; round < 20; round++) {
        for (let burst = 0; burst < 5; burst++) {
          const d = await runBurst(sidecars, pools, `${Date.now()}-${round}-${burst}`);
          if (d) diverged.push(d);
        }
      }
      expect(diverged).toEqual([]);
    });
  }, 120_000);

  it.each(['kask-first-writes', 'writes-without-reread', 'backfill-without-reread'])(
    'catches the broken variant %s',
    async (variant) => {
      const found = await withSidecars(variant, async (sidecars, pools) => {
        for (let burst = 0; burst < 400; burst++) {
          const d = await runBurst(sidecars, pools, `${Date.now()}-${variant}-${burst}`);
          if (d) return [d];
        }
        return [];
      });
      expect(found.length).toBeGreaterThan(0);
    },
    120_000,
  );
});
