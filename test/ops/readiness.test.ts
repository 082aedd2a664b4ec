// /readyz: ready only when the backends the phase in force needs answer (Kask: a GET of a fixed key; Redis: PING)
// and their breakers allow traffic; the body names what is not ready.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhaseName } from '../../src/config/schema.js';
import { createReadiness } from '../../src/ops/readiness.js';
import type { BreakerStatus } from '../../src/ops/status-providers.js';
import { startLocalRedis } from '../../src/redis/local-server.js';
import type { RedisStore } from '../../src/redis/store.js';
import { spawnSidecar, useBackends } from '../support/backends.js';
import { type OpsSidecar, setKaskFaults, setPhase, startOpsSidecar } from '../support/ops-sidecar.js';
import { waitFor } from '../support/wait.js';

const backends = useBackends(['--fault-control']);
let sidecar: OpsSidecar;

beforeAll(async () => {
  backends.redis.on('error', () => {}); // this suite kills redis-server on purpose
  sidecar = await startOpsSidecar(backends, ['--phase', 'migration']);
});
afterAll(async () => {
  await sidecar?.proc.stop();
});

async function readyz(): Promise<{ status: number; body: { ready: boolean; problems: string[] } }> {
  const res = await fetch(`${sidecar.origin}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; problems: string[] } };
}

describe('/readyz on a running sidecar', () => {
  it('is ready when Kask and Redis answer', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { ready: true, problems: [] } });
  });

  it('names Kask when it fails', async () => {
    await setKaskFaults(backends, { errorRate: 1, methods: ['GET'] });
    try {
      expect(await readyz()).toEqual({
        status: 503,
        body: { ready: false, problems: ['kask: Kask answered GET with 500'] },
      });
    } finally {
      await setKaskFaults(backends, {});
    }
  });

  it('names Redis when it is gone, ignores it in kask-only, and recovers when it is back', async () => {
    await backends.redisServer.kill();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.problems).toHaveLength(1);
    expect(down.body.problems[0]).toMatch(/^redis: /);

    await setPhase(sidecar.adminUrl, 'kask-only', true);
    expect(await readyz()).toEqual({ status: 200, body: { ready: true, problems: [] } });
    await setPhase(sidecar.adminUrl, 'migration', true);
    expect((await readyz()).status).toBe(503);

    await backends.redisServer.restart();
    await waitFor(async () => (await readyz()).status === 200, 8_000, '/readyz to answer 200', 100);
  });
});

describe('a sidecar pointed at a read-only replica', () => {
  it('says so at start-up and in /readyz, exports kmp_redis_writable 0, and refuses writes with nothing half-done', async () => {
    const replica = await startLocalRedis();
    const admin = new Redis(replica.url);
    const key = 'global:echo:seen:alert:time:replica';
    try {
      await admin.replicaof('127.0.0.1', Number(new URL(backends.redisServer.url).port));
      const proc = await spawnSidecar(backends, ['--phase', 'migration', '--redis-url', replica.url]);
      try {
        const origin = new URL(proc.url).origin;
        await waitFor(
          async () => proc.output().includes('read-only replica'),
          8_000,
          'the read-only replica line',
          100,
        );
        const ready = await fetch(`${origin}/readyz`);
        expect(ready.status).toBe(503);
        expect(((await ready.json()) as { problems: string[] }).problems).toEqual([
          'redis: read-only replica (ROLE slave): every write would fail; point redis.url at the primary',
        ]);
        expect(await (await fetch(`${origin}/metrics`)).text()).toMatch(/^kmp_redis_writable 0$/m);
        const write = await fetch(proc.url + encodeURIComponent(key), { method: 'POST', body: 'JSON.."x"' });
        expect(write.status).toBe(500);
        expect((await fetch(backends.kask.url + encodeURIComponent(key))).status).toBe(404);
      } finally {
        await proc.stop();
      }
    } finally {
      admin.disconnect();
      await replica.stop();
    }
  });
});

describe('readiness rules', () => {
  const healthyRedis = {
    opened: () =>
      Promise.resolve({
        ready: true,
        client: { status: 'ready' },
        ping: async () => {},
        writable: async () => true,
      } as unknown as RedisStore),
  };
  const check = (phase: PhaseName, breakers: BreakerStatus[], draining = false) =>
    createReadiness({
      phase: () => phase,
      kask: { get: async () => ({ kind: 'miss' as const }) },
      redis: healthyRedis,
      breakers: () => breakers,
      draining: () => draining,
    })();

  it('is not ready while a needed backend’s breaker is open', async () => {
    expect(await check('migration', [{ backend: 'redis', state: 'open' }])).toEqual({
      ready: false,
      problems: ['redis: circuit breaker open'],
    });
    expect(await check('dual-write', [{ backend: 'kask', state: 'open' }])).toEqual({
      ready: false,
      problems: ['kask: circuit breaker open'],
    });
    expect((await check('migration', [{ backend: 'kask', state: 'half_open' }])).ready).toBe(true);
  });

  it('ignores Redis (and its breaker) in kask-only', async () => {
    expect(await check('kask-only', [{ backend: 'redis', state: 'open' }])).toEqual({
      ready: true,
      problems: [],
    });
  });

  it('is not ready once shutdown has begun', async () => {
    expect(await check('migration', [], true)).toEqual({ ready: false, problems: ['shutting down'] });
  });
});
