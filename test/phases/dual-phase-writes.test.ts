// Writes, deletes and reads in the dual phases and kask-only, against a real redis-server and the Kask emulator.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSidecar, useBackends } from '../support/backends.js';
import type { Spawned } from '../support/processes.js';
import { sleep } from '../support/wait.js';

const backends = useBackends();

let seq = 0;
const newKey = () => `global:echo:seen:message:time:${process.pid}${Date.now()}${++seq}`;

function startProxy(phase: string): Promise<Spawned> {
  return spawnSidecar(backends, ['--phase', phase]);
}

async function call(base: string, method: string, key: string, body?: string) {
  const res = await request(`${base}${encodeURIComponent(key)}`, {
    method: method as 'GET',
    body,
    headers: body ? { 'content-type': 'application/octet-stream' } : {},
  });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()).toString('latin1') };
}

const kaskGet = (key: string) => call(backends.kask.url, 'GET', key);

async function settled(): Promise<void> {
  await sleep(100);
}

describe('migration phase', () => {
  let proxy: Spawned;
  beforeAll(async () => {
    proxy = await startProxy('migration');
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('a set leaves RedisBagOStuff-readable bytes (with the one-year TTL) in Redis and the envelope in Kask', async () => {
    const key = newKey();
    expect((await call(proxy.url, 'POST', key, 'JSON.."20261125112233"')).status).toBe(201);
    expect(await backends.redis.get(key)).toBe('s:14:"20261125112233";');
    const ttl = await backends.redis.ttl(key);
    expect(ttl).toBeGreaterThan(31536000 - 60);
    expect(ttl).toBeLessThanOrEqual(31536000);
    expect(await kaskGet(key)).toEqual({ status: 200, body: 'JSON.."20261125112233"' });
  });

  it('an int written by MediaWiki becomes bare digits in Redis, as RedisBagOStuff writes ints', async () => {
    const key = newKey();
    await call(proxy.url, 'POST', key, 'JSON..42');
    expect(await backends.redis.get(key)).toBe('42');
  });

  it('a delete removes the key from both stores', async () => {
    const key = newKey();
    await call(proxy.url, 'POST', key, 'JSON.."20261125112233"');
    expect((await call(proxy.url, 'DELETE', key)).status).toBe(204);
    expect(await backends.redis.exists(key)).toBe(0);
    expect((await kaskGet(key)).status).toBe(404);
    expect((await call(proxy.url, 'GET', key)).status).toBe(404);
  });

  it('a key in neither store is a 404 problem', async () => {
    const res = await call(proxy.url, 'GET', newKey());
    expect(res.status).toBe(404);
    expect(res.body).toContain('"title": "Not found"');
  });

  it('a Kask hit is served from Kask even when Redis differs', async () => {
    const key = newKey();
    await call(backends.kask.url, 'POST', key, 'JSON.."20260101000000"');
    await backends.redis.set(key, 's:14:"20250101000000";');
    expect((await call(proxy.url, 'GET', key)).body).toBe('JSON.."20260101000000"');
  });

  it('lock keys are answered from Redis but never backfilled into Kask', async () => {
    const key = `${newKey()}:lock`;
    await backends.redis.set(key, '1');
    expect(await call(proxy.url, 'GET', key)).toEqual({ status: 200, body: 'JSON..1' });
    await settled();
    expect((await kaskGet(key)).status).toBe(404);
  });

  it('a stored false reads as a miss (as RedisBagOStuff reads it) and is not backfilled', async () => {
    const key = newKey();
    await backends.redis.set(key, 'b:0;');
    expect((await call(proxy.url, 'GET', key)).status).toBe(404);
    await settled();
    expect((await kaskGet(key)).status).toBe(404);
  });

  it('a value that cannot be converted is a miss and is never written to Kask', async () => {
    const key = newKey();
    // json_encode of an object of a class other than stdClass depends on the class definition: not convertible.
    await backends.redis.set(key, 'O:3:"Foo":0:{}');
    expect((await call(proxy.url, 'GET', key)).status).toBe(404);
    await settled();
    expect((await kaskGet(key)).status).toBe(404);
  });

  it('a body that is not a MediaWiki envelope (service-checker’s probe) reaches Redis as PHP false + the body', async () => {
    const key = 'KASK:K:INTEGRATION_TEST_KEY';
    await backends.redis.set(key, 's:3:"old";');
    expect((await call(proxy.url, 'POST', key, 'KASK:V:INTEGRATION_TEST_VALUE')).status).toBe(201);
    expect(await call(proxy.url, 'GET', key)).toEqual({ status: 200, body: 'KASK:V:INTEGRATION_TEST_VALUE' });
    // RedisBagOStuff reads this as false (a miss), as MediaWiki reads the body; the old value is gone.
    expect(await backends.redis.get(key)).toBe('b:0;KASK:V:INTEGRATION_TEST_VALUE');
  });
});

describe('dual-write phase', () => {
  let proxy: Spawned;
  beforeAll(async () => {
    proxy = await startProxy('dual-write');
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('reads answer from Redis (converted), not from Kask, and do not backfill', async () => {
    const key = newKey();
    await backends.redis.set(key, 's:14:"20250101000000";');
    await call(backends.kask.url, 'POST', key, 'JSON.."20990101000000"');
    expect((await call(proxy.url, 'GET', key)).body).toBe('JSON.."20250101000000"');
    const other = newKey();
    await backends.redis.set(other, 's:14:"20250101000000";');
    await call(proxy.url, 'GET', other);
    await settled();
    expect((await kaskGet(other)).status).toBe(404);
  });

  it('writes reach both stores', async () => {
    const key = newKey();
    await call(proxy.url, 'POST', key, 'JSON.."20261125112233"');
    expect(await backends.redis.get(key)).toBe('s:14:"20261125112233";');
    expect((await kaskGet(key)).body).toBe('JSON.."20261125112233"');
  });
});

describe('kask-only phase', () => {
  it('never touches Redis and opens no connection to it', async () => {
    const before = Number((await backends.redis.info('clients')).match(/connected_clients:(\d+)/)![1]);
    const proxy = await startProxy('kask-only');
    try {
      const key = newKey();
      await backends.redis.set(key, 's:14:"20250101000000";');
      expect((await call(proxy.url, 'GET', key)).status).toBe(404);
      await call(proxy.url, 'POST', key, 'JSON.."20261125112233"');
      expect(await backends.redis.get(key)).toBe('s:14:"20250101000000";');
      const after = Number((await backends.redis.info('clients')).match(/connected_clients:(\d+)/)![1]);
      expect(after).toBe(before);
    } finally {
      await proxy.stop();
    }
  });
});
