// The bulk copy's completion marker on a real redis-server: written and read back, honouring the key prefix,
// and for sharded runs written only once every shard has recorded its part.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMPLETION_MARKER_KEY,
  type CopyCompletion,
  deleteCompletionMarker,
  readCompletionMarker,
  recordShardCompletion,
  writeCompletionMarker,
} from '../../src/fleet/completion-marker.js';
import { LogRateLimit } from '../../src/ops/log-rate-limit.js';
import { RedisStore } from '../../src/redis/store.js';
import { useBackends } from '../support/backends.js';

const backends = useBackends();
const stores: RedisStore[] = [];

async function store(keyPrefix: string): Promise<RedisStore> {
  const s = new RedisStore({
    url: backends.redisServer.url,
    clusterNodes: [],
    keyPrefix,
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  });
  await s.connect();
  stores.push(s);
  return s;
}
afterAll(async () => {
  for (const s of stores) await s.close();
});

const shard = (index: number, count: number, copied: number): CopyCompletion => ({
  completed_at: `2026-11-25T10:0${index}:00.000Z`,
  run_id: 'job-7',
  keys_scanned: copied + 1,
  keys_copied: copied,
  keys_skipped: 1,
  keys_failed: 0,
  shards: { count, done: [index] },
  version: '0.1.0',
});

describe('completion marker', () => {
  let plain: RedisStore;
  beforeAll(async () => {
    plain = await store('');
  });

  it('is absent until written, then read back as written', async () => {
    await deleteCompletionMarker(plain);
    expect(await readCompletionMarker(plain)).toEqual({ kind: 'absent' });
    const marker = shard(0, 1, 5);
    await writeCompletionMarker(plain, marker);
    expect(await readCompletionMarker(plain)).toEqual({ kind: 'present', marker });
    expect(await backends.redis.ttl(COMPLETION_MARKER_KEY)).toBe(-1);
    await deleteCompletionMarker(plain);
  });

  it('lives under the configured Redis key prefix', async () => {
    const prefixed = await store('wiki1:');
    await writeCompletionMarker(prefixed, shard(0, 1, 1));
    expect(await backends.redis.exists(`wiki1:${COMPLETION_MARKER_KEY}`)).toBe(1);
    expect(await readCompletionMarker(plain)).toEqual({ kind: 'absent' });
    await deleteCompletionMarker(prefixed);
  });

  it('is invalid when it is not a completion record', async () => {
    await backends.redis.set(COMPLETION_MARKER_KEY, '{"completed_at": "yesterday"}');
    expect((await readCompletionMarker(plain)).kind).toBe('invalid');
    await backends.redis.set(COMPLETION_MARKER_KEY, 'done');
    expect(await readCompletionMarker(plain)).toEqual({
      kind: 'invalid',
      reason: `${COMPLETION_MARKER_KEY} is not JSON`,
    });
    await deleteCompletionMarker(plain);
  });

  it('is written by the last shard of a sharded run, with the totals of all shards', async () => {
    const s = await store('sharded:');
    expect(await recordShardCompletion(s, shard(2, 3, 30))).toBeNull();
    expect(await recordShardCompletion(s, shard(0, 3, 10))).toBeNull();
    expect((await readCompletionMarker(s)).kind).toBe('absent');
    const marker = await recordShardCompletion(s, shard(1, 3, 20));
    expect(marker).toEqual({
      completed_at: '2026-11-25T10:02:00.000Z',
      run_id: 'job-7',
      keys_scanned: 63,
      keys_copied: 60,
      keys_skipped: 3,
      keys_failed: 0,
      shards: { count: 3, done: [0, 1, 2] },
      version: '0.1.0',
    });
    expect(await readCompletionMarker(s)).toEqual({ kind: 'present', marker });
  });

  it('is unreadable (not thrown) when Redis cannot answer', async () => {
    const s = new RedisStore({
      url: 'redis://127.0.0.1:1',
      clusterNodes: [],
      keyPrefix: '',
      connectTimeoutMs: 100,
      commandTimeoutMs: 100,
    });
    expect((await readCompletionMarker(s)).kind).toBe('unreadable');
    await s.close();
  });
});

describe('log rate limit', () => {
  it('lets a few lines through per interval and reports how many it held back', () => {
    let now = 0;
    const limit = new LogRateLimit(2, 1000, () => now);
    expect([limit.take(), limit.take(), limit.take(), limit.take()]).toEqual([0, 0, null, null]);
    now = 999;
    expect(limit.take()).toBeNull();
    now = 1000;
    expect(limit.take()).toBe(3);
    expect(limit.take()).toBe(0);
  });
});
