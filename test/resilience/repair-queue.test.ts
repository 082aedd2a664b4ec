// The durable repair queue against a real redis-server: deduplication, due times (settle, then per-key backoff),
// generation-guarded removal and rescheduling, the bounded in-memory buffer while Redis is away, and "lost" (counted
// and logged) when nothing can hold a key.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logging.js';
import { Metrics } from '../../src/ops/metrics.js';
import { type LocalRedis, startLocalRedis } from '../../src/redis/local-server.js';
import { RedisStore } from '../../src/redis/store.js';
import { createBreakers } from '../../src/resilience/breakers.js';
import { GuardedRedis } from '../../src/resilience/guarded-backends.js';
import { REPAIR_QUEUE_KEYS, RedisRepairLedger } from '../../src/resilience/repair-ledger.js';
import { RepairQueue } from '../../src/resilience/repair-queue.js';
import { sleep, waitFor } from '../support/wait.js';

let server: LocalRedis;
let admin: Redis;

beforeAll(async () => {
  server = await startLocalRedis();
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

async function setup(limits: { maxQueueKeys?: number; bufferKeys?: number } = {}) {
  const config = loadConfig(null, { 'breakers.redis.volume_threshold': '1000' }, {});
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const metrics = new Metrics({ processMetrics: false });
  const breakers = createBreakers(config, metrics, logger);
  const store = new RedisStore({
    ...config.redis,
    url: server.url,
    connectTimeoutMs: 200,
    commandTimeoutMs: 200,
  });
  await store.connect();
  const redis = new GuardedRedis(store, breakers.redis);
  const clock = { now: 1_000_000 };
  const queue = new RepairQueue({
    ledger: new RedisRepairLedger(async () => redis),
    maxQueueKeys: limits.maxQueueKeys ?? 1000,
    bufferKeys: limits.bufferKeys ?? 1000,
    settleMs: SETTLE_MS,
    metrics,
    logger,
    now: () => clock.now,
  });
  const outcome = async (name: string) =>
    (await metrics.repairs.get()).values.find((v) => v.labels.outcome === name)?.value ?? 0;
  const done = async () => {
    await queue.close();
    breakers.shutdown();
    await store.close();
  };
  return { queue, lines, outcome, done, store, clock };
}

const SETTLE_MS = 15_000;

describe('repair queue', () => {
  it('keeps one entry per key, due one settle time after its latest failure, binary-safe, under the documented keys', async () => {
    await admin.flushall();
    const { queue, outcome, done, clock } = await setup();
    const key = Buffer.from([0x67, 0x00, 0xff, 0x3a]);
    queue.record(key, 'kask_write_failed');
    await queue.flush();
    expect(Number(await admin.zscore(REPAIR_QUEUE_KEYS.queue, key))).toBe(clock.now + SETTLE_MS);
    clock.now += 5_000;
    queue.record(key, 'backfill_failed'); // a fresh failure: a fresh settle time
    queue.record(Buffer.from('other'), 'not_converged');
    await queue.flush();
    expect(await admin.zcard(REPAIR_QUEUE_KEYS.queue)).toBe(2);
    expect(Number(await admin.zscore(REPAIR_QUEUE_KEYS.queue, key))).toBe(clock.now + SETTLE_MS);
    expect(await queue.depth()).toBe(2);
    expect(await queue.due(10)).toEqual([]); // nothing has settled yet
    clock.now += SETTLE_MS;
    const due = await queue.due(10);
    expect(due.map((e) => e.key)).toEqual([key, Buffer.from('other')]);
    expect(due[0]).toMatchObject({ generation: '2:0', failures: 0 });
    expect(await outcome('queued')).toBe(3);
    await done();
  });

  it('never moves a due time earlier: a backoff in force outlasts a new failure', async () => {
    await admin.flushall();
    const { queue, done, clock } = await setup();
    const key = Buffer.from('k');
    queue.record(key, 'kask_write_failed');
    await queue.flush();
    clock.now += SETTLE_MS;
    const [entry] = await queue.due(10);
    expect(await queue.retryAt(entry!, clock.now + 600_000)).toBe(true);
    queue.record(key, 'kask_write_failed');
    await queue.flush();
    expect(Number(await admin.zscore(REPAIR_QUEUE_KEYS.queue, key))).toBe(clock.now + 600_000);
    clock.now += 600_000;
    const [later] = await queue.due(10);
    expect(later).toMatchObject({ generation: '2:1', failures: 1 });
    await done();
  });

  it('removes or reschedules a key only if nothing recorded it again meanwhile', async () => {
    await admin.flushall();
    const { queue, done, clock } = await setup();
    queue.record(Buffer.from('k'), 'kask_write_failed');
    await queue.flush();
    clock.now += SETTLE_MS;
    const [entry] = await queue.due(10);
    queue.record(Buffer.from('k'), 'kask_write_failed'); // a new failure while "repairing"
    await queue.flush();
    expect(await queue.complete(entry!)).toBe(false);
    expect(await queue.retryAt(entry!, clock.now + 1)).toBe(false);
    expect(await queue.depth()).toBe(1);
    expect(await queue.due(10)).toEqual([]); // the new failure's settle time holds
    clock.now += SETTLE_MS;
    const [again] = await queue.due(10);
    expect(await queue.complete(again!)).toBe(true);
    expect(await queue.depth()).toBe(0);
    expect(await admin.hlen(REPAIR_QUEUE_KEYS.generations)).toBe(0);
    await done();
  });

  it('holds keys in memory while Redis is down and stores them once it is back', async () => {
    await admin.flushall();
    const { queue, outcome, done } = await setup();
    await server.kill();
    queue.record(Buffer.from('during-outage'), 'kask_delete_failed');
    await queue.flush();
    expect(queue.buffered).toBe(1);
    await server.restart();
    await waitFor(async () => queue.buffered === 0, 8_000, 'the buffer to flush');
    expect(await admin.zcard(REPAIR_QUEUE_KEYS.queue)).toBe(1);
    expect(await outcome('lost')).toBe(0);
    await done();
  });

  it('counts a key lost, and logs it at error level, when neither the buffer nor the queue can hold it', async () => {
    await admin.flushall();
    const { queue, outcome, lines, done } = await setup({ maxQueueKeys: 1, bufferKeys: 1 });
    queue.record(Buffer.from('first'), 'kask_write_failed');
    queue.record(Buffer.from('second'), 'kask_write_failed'); // buffer (1) still holds "first"
    await queue.flush();
    queue.record(Buffer.from('third'), 'kask_write_failed'); // queue (1) already holds "first"
    await queue.flush();
    expect(await outcome('lost')).toBe(2);
    const lost = lines.filter((l) => l['event.action'] === 'repair.record');
    expect(lost.map((l) => [l['log.level'], l['kmp.key']])).toEqual([
      ['error', 'second'],
      ['error', 'third'],
    ]);
    await done();
  });

  it('at shutdown, keeps trying within its budget while Redis comes back, and loses nothing', async () => {
    await admin.flushall();
    const { queue, outcome, done, clock } = await setup();
    await server.kill();
    queue.record(Buffer.from('held'), 'kask_write_failed');
    await queue.flush();
    expect(queue.buffered).toBe(1);
    // The queue runs on a fixed test clock; give the budget a real clock so the retry loop can run out of it.
    const started = Date.now();
    clock.now = started;
    const ticking = setInterval(() => {
      clock.now = Date.now();
    }, 20);
    const closing = queue.close(8_000);
    await sleep(500);
    await server.restart();
    await closing;
    clearInterval(ticking);
    expect(await outcome('lost')).toBe(0);
    expect(await admin.zscore(REPAIR_QUEUE_KEYS.queue, 'held')).not.toBeNull();
    await done();
  });

  it('at shutdown, counts as lost what Redis still cannot take', async () => {
    await admin.flushall();
    const { queue, outcome, lines, done, store } = await setup();
    store.client.disconnect();
    queue.record(Buffer.from('stranded'), 'not_converged');
    await done();
    expect(await outcome('lost')).toBe(1);
    expect(lines.some((l) => l['kmp.key'] === 'stranded' && l['log.level'] === 'error')).toBe(true);
  });
});
