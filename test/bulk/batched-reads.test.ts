// The copier's gathered convergence re-reads against a real redis-server: GETs asked for in one turn of the event
// loop leave as one MGET and each caller gets its own key's value; while an MGET is out, later reads gather behind
// it; a failed MGET fails every caller in it.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BatchedReads } from '../../src/bulk/batched-reads.js';
import { type LocalRedis, startLocalRedis } from '../../src/redis/local-server.js';
import { RedisError, RedisStore } from '../../src/redis/store.js';

let redis: LocalRedis;
let store: RedisStore;
beforeAll(async () => {
  redis = await startLocalRedis();
  store = new RedisStore({
    url: redis.url,
    clusterNodes: [],
    keyPrefix: 'p:',
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  });
  await store.connect();
});
afterAll(async () => {
  await store.close();
  await redis.stop();
});

it('answers each GET of a turn from one MGET, honouring the key prefix and absent keys', async () => {
  for (let i = 0; i < 1200; i += 2) await store.set(Buffer.from(`k${i}`), Buffer.from(`v${i}`), 0);
  const mgets: number[] = [];
  const getMany = store.getMany.bind(store);
  store.getMany = (keys) => {
    mgets.push(keys.length);
    return getMany(keys);
  };
  const reads = new BatchedReads(store);
  const values = await Promise.all(Array.from({ length: 1200 }, (_, i) => reads.get(Buffer.from(`k${i}`))));
  expect(values.map((v) => v?.toString() ?? null)).toEqual(
    Array.from({ length: 1200 }, (_, i) => (i % 2 === 0 ? `v${i}` : null)),
  );
  // One turn's 1,200 reads: three MGETs of at most 500 keys.
  expect(mgets).toEqual([500, 500, 200]);
  // A later turn is a new MGET.
  expect((await reads.get(Buffer.from('k0')))?.toString()).toBe('v0');
  expect(mgets).toEqual([500, 500, 200, 1]);
});

it('while one MGET is out, reads asked for in later turns wait for it and leave together in the next', async () => {
  const out: { keys: string[]; answer: () => void }[] = [];
  const held = {
    getMany: (keys: readonly Buffer[]) =>
      new Promise<(Buffer | null)[]>((resolve) =>
        out.push({ keys: keys.map(String), answer: () => resolve(keys.map((k) => Buffer.from(`v-${k}`))) }),
      ),
  } as unknown as RedisStore;
  const reads = new BatchedReads(held);
  const a = reads.get(Buffer.from('a'));
  await nextTurn();
  expect(out.map((m) => m.keys)).toEqual([['a']]);
  const b = reads.get(Buffer.from('b'));
  await nextTurn();
  const c = reads.get(Buffer.from('c'));
  await nextTurn();
  expect(out.map((m) => m.keys)).toEqual([['a']]); // nothing more leaves while the first is out
  out[0]!.answer();
  expect((await a)?.toString()).toBe('v-a');
  await nextTurn();
  expect(out.map((m) => m.keys)).toEqual([['a'], ['b', 'c']]);
  out[1]!.answer();
  expect((await Promise.all([b, c])).map(String)).toEqual(['v-b', 'v-c']);
});

it('reads a key holding no string (a hash) as absent, as MGET answers it', async () => {
  await store.client.hset('p:hash', 'f', 'v');
  expect(await new BatchedReads(store).get(Buffer.from('hash'))).toBeNull();
});

it('fails every GET of a failed MGET with the store error', async () => {
  const broken = new RedisStore({
    url: redis.url,
    clusterNodes: [],
    keyPrefix: '',
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  });
  // Never connected, and ioredis queues nothing offline: the MGET fails at once.
  const reads = new BatchedReads(broken);
  const results = await Promise.allSettled([reads.get(Buffer.from('a')), reads.get(Buffer.from('b'))]);
  for (const r of results) {
    expect(r.status).toBe('rejected');
    expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RedisError);
  }
  await broken.close();
});
