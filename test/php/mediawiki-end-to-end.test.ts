// End to end with a PHP client that behaves like MediaWiki: values written by RedisBagOStuff before the migration
// must read back through the sidecar exactly as RESTBagOStuff would have read them from Kask, and writes through
// the sidecar must leave bytes RedisBagOStuff reads back as the same value. Every expectation is computed by PHP.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSidecar, useBackends, writeConfig } from '../support/backends.js';
import type { Spawned } from '../support/processes.js';
import { sleep } from '../support/wait.js';

const CLIENT = fileURLToPath(new URL('./mediawiki-client.php', import.meta.url));

interface ClientConfig {
  url: string;
  type: 'JSON' | 'PHP';
  hmac_key: string;
  write_method: 'POST' | 'PUT';
}
type Op = Record<string, string>;
type Result = {
  ok?: boolean;
  hit?: boolean;
  status?: number;
  value?: string | null;
  bytes?: string | null;
  values?: string[];
};

function php(config: ClientConfig, ops: Op[]): Result[] {
  const out = execFileSync('php', [CLIENT], {
    input: JSON.stringify({ config, ops }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out) as Result[];
}

const backends = useBackends();

const SETTINGS = [
  { type: 'JSON', hmac: '', method: 'POST' },
  { type: 'PHP', hmac: '', method: 'POST' },
  { type: 'JSON', hmac: 'an HMAC key', method: 'POST' },
  { type: 'PHP', hmac: 'an HMAC key', method: 'PUT' },
] as const;

describe.each(SETTINGS)(
  'RESTBagOStuff ($type, hmac "$hmac", $method) through the sidecar in migration',
  ({ type, hmac, method }) => {
    let proxy: Spawned;
    let config: ClientConfig;
    let values: string[];

    beforeAll(async () => {
      const file = writeConfig(
        `phase: migration\nvalues:\n  envelope_type: ${type}\nfront:\n  accept_put: ${method === 'PUT'}\nadmin:\n  listen: ''\n`,
      );
      proxy = await spawnSidecar(backends, ['--config', file], {
        KMP_HMAC_KEY: hmac,
      });
      config = { url: proxy.url, type, hmac_key: hmac, write_method: method };
      values = php(config, [{ op: 'sample_values' }])[0]!.values!;
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    const keyFor = (i: number, tag: string) =>
      `global:echo:seen:alert:time:${type}${hmac.length}${method}${tag}${i}`;

    it('reads pre-migration RedisBagOStuff values back exactly as RESTBagOStuff would read them from Kask', async () => {
      const redisBytes = php(
        config,
        values.map((value) => ({ op: 'redis_bytes', value })),
      );
      const expected = php(
        config,
        values.map((value) => ({ op: 'rest_roundtrip', value })),
      );
      const envelopes = php(
        config,
        values.map((value) => ({ op: 'encode_body', value })),
      );
      for (const [i, r] of redisBytes.entries())
        await backends.redis.set(keyFor(i, 'legacy'), Buffer.from(r.bytes!, 'base64'));

      const reads = php(
        config,
        values.map((_, i) => ({ op: 'get', key: keyFor(i, 'legacy') })),
      );
      for (const [i, read] of reads.entries()) {
        const want = expected[i]!.value;
        if (want === null || want === 'YjowOw==') {
          // JSON cannot carry it, or it is `false`: RESTBagOStuff would have a miss, and so does the sidecar.
          expect(read.hit, `value #${i}`).toBe(false);
          continue;
        }
        expect(read.hit, `value #${i}`).toBe(true);
        expect(read.value, `value #${i}`).toBe(want);
      }
      // The backfill stored in Kask exactly the bytes RESTBagOStuff itself would have written.
      await sleep(300);
      for (const [i, env] of envelopes.entries()) {
        if (env.bytes === null || expected[i]!.value === 'YjowOw==') continue;
        const res = await request(`${backends.kask.url}${encodeURIComponent(keyFor(i, 'legacy'))}`);
        expect(Buffer.from(await res.body.arrayBuffer()).toString('base64'), `value #${i}`).toBe(env.bytes);
      }
    });

    it('writes leave bytes that RedisBagOStuff reads back as the same value, and RESTBagOStuff reads them back too', async () => {
      const sets = php(
        config,
        values.map((value, i) => ({ op: 'set', key: keyFor(i, 'written'), value })),
      );
      const expected = php(
        config,
        values.map((value) => ({ op: 'rest_roundtrip', value })),
      );
      for (const [i, set] of sets.entries()) {
        if (expected[i]!.value === null) continue; // RESTBagOStuff refuses to encode it (JSON, non-UTF-8)
        expect(set, `value #${i}`).toMatchObject({ ok: true });
        const stored = await backends.redis.getBuffer(keyFor(i, 'written'));
        const asRedisReadsIt = php(config, [{ op: 'redis_value', bytes: stored!.toString('base64') }])[0]!;
        const exact = php(config, [{ op: 'redis_bytes', value: expected[i]!.value! }])[0]!;
        expect(stored!.toString('base64'), `value #${i}: RedisBagOStuff's own bytes`).toBe(exact.bytes);
        if (expected[i]!.value !== 'YjowOw==')
          expect(asRedisReadsIt.value, `value #${i}`).toBe(expected[i]!.value);
      }
      const reads = php(
        config,
        values.map((_, i) => ({ op: 'get', key: keyFor(i, 'written') })),
      );
      for (const [i, read] of reads.entries()) {
        const want = expected[i]!.value;
        if (want === null || want === 'YjowOw==') continue;
        expect(read.value, `value #${i}`).toBe(want);
      }
    });

    it('deletes remove the value for both clients', async () => {
      const key = keyFor(0, 'deleted');
      expect(php(config, [{ op: 'set', key, value: values[0]! }])[0]).toMatchObject({ ok: true });
      expect(php(config, [{ op: 'delete', key }])[0]).toMatchObject({ ok: true, status: 204 });
      expect(await backends.redis.exists(key)).toBe(0);
      expect(php(config, [{ op: 'get', key }])[0]).toMatchObject({ hit: false, status: 404 });
    });
  },
);
