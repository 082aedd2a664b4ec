// A real three-master Redis Cluster: copy and verify walk every master, and a migration-phase sidecar reads,
// writes, backfills and repairs through it (the repair queue's hash-tagged keys live in one slot).
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentEncode } from '../../src/net/percent-encoding.js';
import { RedisStore } from '../../src/redis/store.js';
import { writeConfig } from '../support/backends.js';
import { jsonReport, runCli } from '../support/cli-run.js';
import { type Spawned, spawnCli, spawnEmulator } from '../support/processes.js';
import { type LocalCluster, startLocalCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait.js';
import { echoKey, echoValue, KaskReader, seedEcho } from './support.js';

let cluster: LocalCluster;
let emulator: Spawned;
let kask: KaskReader;
beforeAll(async () => {
  cluster = await startLocalCluster(3);
  emulator = await spawnEmulator('/echoseen/v1/', ['--default-ttl', '0', '--fault-control']);
  kask = new KaskReader(emulator.url);
}, 60_000);
afterAll(async () => {
  await kask?.close();
  await emulator?.stop();
  await cluster?.stop();
});

async function kaskFaults(settings: Record<string, unknown>): Promise<void> {
  const pool = new Pool(new URL(emulator.url).origin);
  const res = await pool.request({
    method: 'PUT',
    path: '/_emulator/faults',
    body: JSON.stringify(settings),
    headers: { 'content-type': 'application/json' },
  });
  await res.body.dump();
  await pool.close();
  if (res.statusCode !== 200) throw new Error(`fault control answered ${res.statusCode}`);
}

describe('on a Redis Cluster', () => {
  it('copy and verify cover the keys of every master', async () => {
    const keys = await seedEcho(cluster.client, 3000);
    const perMaster = await Promise.all(cluster.client.nodes('master').map((n) => n.dbsize()));
    expect(
      perMaster.every((n) => n > 500),
      `keys per master: ${perMaster}`,
    ).toBe(true);

    // One node's address is enough: the tools find the cluster's other masters.
    const store = ['--redis-url', cluster.url, '--kask-url', emulator.url, '--json'];
    const copied = await runCli(['copy', ...store]);
    expect(copied.code, copied.stderr).toBe(0);
    expect(jsonReport(copied)).toMatchObject({ scanned: 3000, copied: 3000, failed: 0 });
    expect(await kask.divergent(cluster.client, keys)).toEqual([]);
    const marker = JSON.parse((await cluster.client.get('kmp:copy:completed'))!);
    expect(marker).toMatchObject({ keys_scanned: 3000, shards: { count: 1, done: [0] } });

    const clean = await runCli(['verify', ...store]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(jsonReport(clean)).toMatchObject({ checked: 3000, match: 3000 });
    const progress = JSON.parse(clean.stderr.trim().split('\n').at(-1)!);
    expect(progress).toMatchObject({ event: 'verify.progress', examined: 3000 });

    await kask.set(echoKey(17), 'JSON.."19990101000000"');
    await cluster.client.del(echoKey(18)); // scanned no more: not a difference verify can see
    await cluster.client.set(echoKey(19), 'b:0;'); // Redis says "nothing", Kask still has the old value
    const differs = await runCli(['verify', ...store]);
    expect(differs.code).toBe(1);
    expect(jsonReport(differs)).toMatchObject({ different: 1, missing_in_redis: 1, missing_in_kask: 0 });
    expect(jsonReport(differs).examples).toEqual({
      different: [echoKey(17)],
      missing_in_redis: [echoKey(19)],
    });
    const repaired = await runCli(['verify', ...store, '--repair']);
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect(jsonReport(repaired)).toMatchObject({ repaired: 2, different: 0, missing_in_redis: 0 });
    expect(await kask.get(echoKey(17))).toBe('JSON.."20261101000000"');
    expect(await kask.get(echoKey(19))).toBeNull();
  }, 120_000);

  it('serves the migration phase: reads, writes, backfill and the repair queue', async () => {
    const config = writeConfig(
      [
        'phase: migration',
        'redis:',
        `  url: ${cluster.url}`,
        `  cluster_nodes: [${cluster.nodes.join(', ')}]`,
        'repair:',
        '  settle_ms: 300',
      ].join('\n'),
    );
    const sidecar = await spawnCli([
      'serve',
      '--config',
      config,
      '--listen',
      '127.0.0.1:0',
      '--kask-url',
      emulator.url,
    ]);
    const pool = new Pool(new URL(sidecar.url).origin);
    const base = new URL(sidecar.url).pathname;
    const call = async (method: string, key: string, body?: string) => {
      const res = await pool.request({
        method,
        path: base + percentEncode(Buffer.from(key)),
        body,
        headers: body ? { 'content-type': 'application/octet-stream' } : {},
      });
      return { status: res.statusCode, body: await res.body.text() };
    };
    try {
      // Read of a Redis-only key: answered from Redis, then backfilled into Kask.
      const legacy = 'enwiki:echo:seen:alert:time:4242';
      await cluster.client.set(legacy, echoValue('20240101000000'));
      expect(await call('GET', legacy)).toEqual({ status: 200, body: 'JSON.."20240101000000"' });
      await waitFor(
        async () => (await kask.get(legacy)) === 'JSON.."20240101000000"',
        20_000,
        'the backfill',
        100,
      );

      // Writes and deletes reach both stores, on whichever master owns the key.
      const written = 'global:echo:seen:message:time:9001';
      expect((await call('POST', written, 'JSON.."20261129000000"')).status).toBe(201);
      expect(await cluster.client.get(written)).toBe(echoValue('20261129000000'));
      expect(await kask.get(written)).toBe('JSON.."20261129000000"');
      expect((await call('DELETE', written)).status).toBe(204);
      expect(await cluster.client.exists(written)).toBe(0);
      expect(await kask.get(written)).toBeNull();

      // Kask refuses a write: the key goes to the repair queue in the cluster, and is repaired once Kask is back.
      const queued = 'enwiki:echo:seen:alert:time:repair-me';
      await kaskFaults({ errorRate: 1, methods: ['POST'] });
      expect((await call('POST', queued, 'JSON.."20261129010203"')).status).toBe(500);
      await waitFor(
        async () => (await cluster.client.zscore('kmp:{repair}:due', queued)) !== null,
        20_000,
        'the key in the repair queue',
        100,
      );
      expect(await kask.get(queued)).toBeNull();
      await kaskFaults({});
      await waitFor(
        async () => (await kask.get(queued)) === 'JSON.."20261129010203"',
        20_000,
        'the repair',
        100,
      );
      await waitFor(
        async () => (await cluster.client.zcard('kmp:{repair}:due')) === 0,
        20_000,
        'the queue to empty',
        100,
      );
    } finally {
      await pool.close();
      await sidecar.stop();
    }
  }, 120_000);

  it('reads many keys across slots, a key holding no string as absent (as MGET does on one Redis)', async () => {
    const store = new RedisStore({
      url: cluster.url,
      clusterNodes: cluster.nodes,
      keyPrefix: '',
      connectTimeoutMs: 2000,
      commandTimeoutMs: 2000,
    });
    try {
      expect(await store.connect()).toBe(true);
      const keys = Array.from({ length: 50 }, (_, i) => `many:${i}`);
      for (const [i, k] of keys.entries()) if (i % 3 === 0) await cluster.client.set(k, `v${i}`);
      await cluster.client.hset('many:hash', 'f', 'v');
      const read = await store.getMany([...keys, 'many:hash'].map((k) => Buffer.from(k)));
      expect(read.map((v) => v?.toString() ?? null)).toEqual([
        ...keys.map((_, i) => (i % 3 === 0 ? `v${i}` : null)),
        null,
      ]);
    } finally {
      await store.close();
    }
  });
});
