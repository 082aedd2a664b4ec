// Values one store cannot hold as the other holds them (findings 7 and 8 of the failure-path issue), end to end
// through real sidecar processes, a real redis-server and the emulator:
// - a body RESTBagOStuff reads as a miss (Kask's own monitoring value, an envelope of the other serialization
//   type) is kept in Redis as `b:0;` + the body, so dual-write answers it back instead of a 404 or an older value;
// - a value RedisBagOStuff stored as a stdClass object reads through a JSON-envelope sidecar as the JSON object
//   RESTBagOStuff's JSON mode would have stored, instead of a miss.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSidecar, useBackends, writeConfig } from '../support/backends.js';
import type { Spawned } from '../support/processes.js';
import { eventually } from '../support/wait.js';

const backends = useBackends();
const XAMPLE = 'KASK:V:INTEGRATION_TEST_VALUE';

let seq = 0;
const newKey = () => `global:echo:seen:alert:time:${process.pid}x${Date.now()}x${++seq}`;

async function startSidecar(phase: string, type: 'JSON' | 'PHP'): Promise<Spawned> {
  const config = writeConfig(`phase: ${phase}\nvalues:\n  envelope_type: ${type}\nadmin:\n  listen: ''\n`);
  return spawnSidecar(backends, ['--config', config], { KMP_HMAC_KEY: '' });
}

async function get(base: string, key: string): Promise<{ status: number; body: string }> {
  const res = await request(`${base}${encodeURIComponent(key)}`);
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()).toString('latin1') };
}

async function post(base: string, key: string, body: string): Promise<number> {
  const res = await request(`${base}${encodeURIComponent(key)}`, { method: 'POST', body });
  await res.body.dump();
  return res.statusCode;
}

const redisBytes = async (key: string) => (await backends.redis.getBuffer(key))?.toString('latin1') ?? null;

describe('dual-write: a body Redis cannot hold as a value', () => {
  let json: Spawned;
  let php: Spawned;
  beforeAll(async () => {
    [json, php] = await Promise.all([startSidecar('dual-write', 'JSON'), startSidecar('dual-write', 'PHP')]);
  });
  afterAll(async () => {
    await Promise.all([json?.stop(), php?.stop()]);
  });

  it('Kask’s x-ample is stored as b:0; + body and answered back byte for byte', async () => {
    const key = newKey();
    expect(await post(json.url, key, XAMPLE)).toBe(201);
    expect(await redisBytes(key)).toBe(`b:0;${XAMPLE}`);
    expect(await get(json.url, key)).toEqual({ status: 200, body: XAMPLE });
    expect(await get(backends.kask.url, key)).toEqual({ status: 200, body: XAMPLE });
  });

  it('an envelope of the other serialization type replaces the older Redis value instead of leaving it behind', async () => {
    const key = newKey();
    await backends.redis.set(key, 's:14:"20201010123456";'); // written by RedisBagOStuff before
    expect(await post(php.url, key, 'JSON.."20261125112233"')).toBe(201);
    expect(await redisBytes(key)).toBe('b:0;JSON.."20261125112233"');
    expect(await get(php.url, key)).toEqual({ status: 200, body: 'JSON.."20261125112233"' });
  });

  it('a stored false stays PHP false: a miss on both sides', async () => {
    const key = newKey();
    expect(await post(json.url, key, 'JSON..false')).toBe(201);
    expect(await redisBytes(key)).toBe('b:0;');
    expect((await get(json.url, key)).status).toBe(404);
  });
});

describe('migration: values only Redis holds', () => {
  let json: Spawned;
  beforeAll(async () => {
    json = await startSidecar('migration', 'JSON');
  });
  afterAll(async () => {
    await json?.stop();
  });

  it('a stdClass written by RedisBagOStuff reads as RESTBagOStuff’s JSON object and is backfilled', async () => {
    const key = newKey();
    // serialize((object)['alert' => '20201010123456', 'seen' => new stdClass()]) from PHP 8.2
    await backends.redis.set(
      key,
      'O:8:"stdClass":2:{s:5:"alert";s:14:"20201010123456";s:4:"seen";O:8:"stdClass":0:{}}',
    );
    const expected = 'JSON..{"alert":"20201010123456","seen":{}}';
    expect(await get(json.url, key)).toEqual({ status: 200, body: expected });
    const kask = await eventually(
      () => get(backends.kask.url, key),
      (r) => r.status === 200,
      5_000,
      20,
    );
    expect(kask).toEqual({ status: 200, body: expected });
  });

  it('an object of another class stays a miss (json_encode depends on its definition)', async () => {
    const key = newKey();
    await backends.redis.set(key, 'O:3:"Foo":1:{s:1:"a";i:1;}');
    expect((await get(json.url, key)).status).toBe(404);
  });

  it('an opaque body held only in Redis is served and backfilled byte for byte', async () => {
    const key = newKey();
    await backends.redis.set(key, `b:0;${XAMPLE}`);
    expect(await get(json.url, key)).toEqual({ status: 200, body: XAMPLE });
    const kask = await eventually(
      () => get(backends.kask.url, key),
      (r) => r.status === 200,
      5_000,
      20,
    );
    expect(kask).toEqual({ status: 200, body: XAMPLE });
  });
});
