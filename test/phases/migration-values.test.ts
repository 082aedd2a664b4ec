// Migration phase end to end: values MediaWiki wrote through RedisBagOStuff come back through the sidecar as the
// exact envelope bytes RESTBagOStuff expects, are backfilled into Kask, and writes leave RedisBagOStuff bytes.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSidecar, useBackends, writeConfig } from '../support/backends.js';
import type { Spawned } from '../support/processes.js';
import { eventually } from '../support/wait.js';

const backends = useBackends();

// Expected bytes from real PHP 8.2 (serialize, json_encode, hash_hmac with the demo key 'secret').
const CASES = [
  {
    name: 'TS_MW string (what Echo stores)',
    redis: 's:14:"20201010123456";',
    JSON: 'JSON.."20201010123456"',
    PHP: 'PHP..s:14:"20201010123456";',
    JSON_secret: 'JSON.RZ3pl+swTEYAdxIBlUBvdnq8oHi4zB9bS63XD/V9ksE=."20201010123456"',
    PHP_secret: 'PHP.wATC51GdmeBf3AoYZGWEJ7f6eJlxI9zDd3SsVpHfdYE=.s:14:"20201010123456";',
  },
  {
    name: 'int (bare digits in Redis)',
    redis: '20201010123456',
    JSON: 'JSON..20201010123456',
    PHP: 'PHP..i:20201010123456;',
    JSON_secret: 'JSON.oJoEix7p58nG8vFIqhWFC0Z9hYFCoj1LwMltYHh8TOI=.20201010123456',
    PHP_secret: 'PHP.YdJczcGkdfq8T7ucKKUp1aqzP+bjO/nYhWgnKdj8VJ4=.i:20201010123456;',
  },
  {
    name: 'map',
    redis: 'a:1:{s:1:"a";i:1;}',
    JSON: 'JSON..{"a":1}',
    PHP: 'PHP..a:1:{s:1:"a";i:1;}',
    JSON_secret: 'JSON.qp4uNXX11wmLbKzNeQiIw21f22M0KnO62i1qUXR6hJQ=.{"a":1}',
    PHP_secret: 'PHP.X+zh2z7PuSCZq7mckbd9mTE3tvzYAkMAceBgUv4nZbo=.a:1:{s:1:"a";i:1;}',
  },
  {
    name: 'list',
    redis: 'a:2:{i:0;s:1:"x";i:1;s:1:"y";}',
    JSON: 'JSON..["x","y"]',
    PHP: 'PHP..a:2:{i:0;s:1:"x";i:1;s:1:"y";}',
  },
  { name: 'slash', redis: 's:3:"a/b";', JSON: 'JSON.."a\\/b"', PHP: 'PHP..s:3:"a/b";' },
  { name: 'null', redis: 'N;', JSON: 'JSON..null', PHP: 'PHP..N;' },
  { name: 'true', redis: 'b:1;', JSON: 'JSON..true', PHP: 'PHP..b:1;' },
] as const;

const SETTINGS = [
  { type: 'JSON', secret: false },
  { type: 'PHP', secret: false },
  { type: 'JSON', secret: true },
  { type: 'PHP', secret: true },
] as const;

let seq = 0;
const newKey = () => `testwiki:echo:seen:alert:time:${process.pid}${Date.now()}${++seq}`;

async function kaskValue(key: string): Promise<string | null> {
  const res = await request(`${backends.kask.url}${encodeURIComponent(key)}`);
  if (res.statusCode === 404) {
    await res.body.dump();
    return null;
  }
  return Buffer.from(await res.body.arrayBuffer()).toString('latin1');
}

describe.each(SETTINGS)('migration phase, envelope $type, HMAC key: $secret', ({ type, secret }) => {
  let proxy: Spawned;
  const label = `${type}${secret ? '_secret' : ''}` as 'JSON' | 'PHP' | 'JSON_secret' | 'PHP_secret';

  beforeAll(async () => {
    const config = writeConfig(`phase: migration\nvalues:\n  envelope_type: ${type}\nadmin:\n  listen: ''\n`);
    proxy = await spawnSidecar(backends, ['--config', config], { KMP_HMAC_KEY: secret ? 'secret' : '' });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  const get = async (key: string) => {
    const res = await request(`${proxy.url}${encodeURIComponent(key)}`);
    const body = Buffer.from(await res.body.arrayBuffer()).toString('latin1');
    return { status: res.statusCode, body, type: res.headers['content-type'] };
  };

  it.each(CASES.filter((c) => label in c))(
    'a Redis value ($name) comes back as RESTBagOStuff’s exact bytes and is backfilled',
    async (c) => {
      const expected = (c as Record<string, string>)[label]!;
      const key = newKey();
      await backends.redis.set(key, c.redis);
      const res = await get(key);
      expect(res).toEqual({ status: 200, body: expected, type: 'application/octet-stream' });
      expect(
        await eventually(
          () => kaskValue(key),
          (v) => v !== null,
          3_000,
          20,
        ),
      ).toBe(expected);
      expect((await get(key)).body).toBe(expected); // now a Kask hit, same bytes (MediaWiki's CAS token)
    },
  );
});
