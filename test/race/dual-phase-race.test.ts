// The race test of docs/protocol.md (the consistency rule): concurrent writers, deleters and backfilling readers
// through two sidecar processes sharing one Redis and one Kask. At quiescence Kask must equal the converted Redis
// value for every key (or both be absent). Each deliberately broken protocol variant must be caught, which shows
// the test can fail.
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisToEnvelope } from '../../src/codec/convert.js';
import { useBackends } from '../support/backends.js';
import { type Spawned, spawnCli, spawnProcess } from '../support/processes.js';
import { eventually, sleep } from '../support/wait.js';

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

type Method = 'GET' | 'POST' | 'DELETE';
/** One client's operations in a burst: each waits `delayMs` (staggered starts), then runs. */
type Script = Array<{ delayMs: number; method: Method }>;

const randomMethod = (): Method =>
  (['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'POST', 'DELETE', 'DELETE'] as const)[rand(10)]!;
const randomScript = (ops: number): Script =>
  Array.from({ length: ops }, () => ({ delayMs: rand(15), method: randomMethod() }));

/**
 * Burst shapes: wide (many colliding operations), narrow (a lone race decides the final state), and read-vs-write
 * (readers backfill legacy data while a writer lands between their Redis read and their Kask POST).
 */
function burstShape(): { seeded: boolean; scripts: Script[] } {
  const shape = rand(3);
  if (shape === 0)
    return { seeded: rand(2) === 0, scripts: Array.from({ length: 8 }, () => randomScript(2)) };
  if (shape === 1)
    return { seeded: rand(2) === 0, scripts: Array.from({ length: 3 }, () => randomScript(1)) };
  const writer: Method = rand(10) < 7 ? 'POST' : 'DELETE';
  return {
    seeded: true,
    scripts: [
      [{ delayMs: 0, method: 'GET' }],
      [{ delayMs: rand(4), method: 'GET' }],
      [{ delayMs: rand(20), method: writer }],
    ],
  };
}

/** One burst on a fresh key (legacy data seeded in Redis only, per shape), through both sidecars at once. */
async function runBurst(sidecars: Spawned[], pools: Pool[], id: string): Promise<string | null> {
  const key = `global:echo:seen:alert:time:${id}`;
  const { seeded, scripts } = burstShape();
  if (seeded) await backends.redis.setex(key, 3600, `s:14:"${seenTime()}";`);
  const client = async (script: Script, c: number) => {
    const pool = pools[c % pools.length]!;
    const path = new URL(sidecars[c % sidecars.length]!.url).pathname + encodeURIComponent(key);
    for (const { delayMs, method } of script) {
      await sleep(delayMs);
      const body = method === 'POST' ? `JSON.."${seenTime()}"` : undefined;
      const res = await pool.request({
        method,
        path,
        body,
        headers: body ? { 'content-type': 'application/octet-stream' } : {},
      });
      await res.body.dump();
      expect([200, 201, 204, 404]).toContain(res.statusCode);
    }
  };
  await Promise.all(scripts.map((script, c) => client(script, c + rand(2))));
  return divergence(key);
}

/** Four bursts on four keys at once; returns the divergences found. */
async function runBursts(sidecars: Spawned[], pools: Pool[], id: string): Promise<string[]> {
  const found = await Promise.all([0, 1, 2, 3].map((i) => runBurst(sidecars, pools, `${id}-${i}`)));
  return found.filter((d): d is string => d !== null);
}

/** Null when Kask holds convert(Redis) (or both are absent); waits out background backfills and convergence first. */
async function divergence(key: string): Promise<string | null> {
  const compare = async (): Promise<string | null> => {
    const stored = await backends.redis.getBuffer(key);
    const converted = stored === null ? null : redisToEnvelope(stored, VALUES);
    const expected = converted?.ok ? converted.bytes.toString('latin1') : null;
    const res = await kaskPool.request({ method: 'GET', path: `/echoseen/v1/${encodeURIComponent(key)}` });
    let actual: string | null = null;
    if (res.statusCode === 200) actual = Buffer.from(await res.body.arrayBuffer()).toString('latin1');
    else await res.body.dump();
    return actual === expected ? null : `${key}: kask=${actual} redis→${expected}`;
  };
  await sleep(60);
  return eventually(compare, (found) => found === null, 540, 60);
}

async function withSidecars<T>(
  variant: string | null,
  body: (sidecars: Spawned[], pools: Pool[]) => Promise<T>,
): Promise<T> {
  const sidecars = await startPair(variant);
  const pools = sidecars.map((s) => new Pool(new URL(s.url).origin, { connections: 32 }));
  try {
    return await body(sidecars, pools);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(sidecars.map((s) => s.stop()));
  }
}

describe('dual-phase protocol under concurrent writers, deleters and backfilling readers', () => {
  it('keeps Kask equal to the converted Redis value after every burst: 20 rounds of 8 bursts', async () => {
    await withSidecars(null, async (sidecars, pools) => {
      const diverged: string[] = [];
      for (let round = 0; round < 20; round++) {
        for (let batch = 0; batch < 2; batch++)
          diverged.push(...(await runBursts(sidecars, pools, `${Date.now()}-${round}-${batch}`)));
      }
      expect(diverged).toEqual([]);
    });
  }, 120_000);

  it.each(['kask-first-writes', 'writes-without-reread', 'backfill-without-reread'])(
    'catches the broken variant %s',
    async (variant) => {
      const found = await withSidecars(variant, async (sidecars, pools) => {
        // Bounded in time and count; each variant is normally caught within a few seconds.
        const deadline = Date.now() + 60_000;
        for (let batch = 0; batch < 500 && Date.now() < deadline; batch++) {
          const diverged = await runBursts(sidecars, pools, `${Date.now()}-${variant}-${batch}`);
          if (diverged.length > 0) return diverged;
        }
        return [];
      });
      expect(found.length).toBeGreaterThan(0);
    },
    120_000,
  );
});
