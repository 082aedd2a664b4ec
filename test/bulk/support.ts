// Seeding Redis with Echo-shaped keys for the bulk suites, and reading Kask back to compare it with Redis.
import { type Cluster, Redis as IORedis, type Redis } from 'ioredis';
import { Pool } from 'undici';
import { redisToEnvelope } from '../../src/codec/convert.js';
import { percentEncode } from '../../src/net/percent-encoding.js';
import { startLocalRedis } from '../../src/redis/local-server.js';
import { runCli } from '../support/cli-run.js';
import { spawnEmulator } from '../support/processes.js';

export const VALUES = { type: 'JSON' as const, hmacKey: null };

export const echoKey = (i: number) => `global:echo:seen:alert:time:${i}`;
export const echoValue = (ts: string) => `s:14:"${ts}";`;

/** Sets `count` Echo keys (in chunks, pipelined). */
export async function seedEcho(
  redis: Redis | Cluster,
  count: number,
  opts: { from?: number; ts?: string; ttl?: number } = {},
): Promise<string[]> {
  const keys: string[] = [];
  const from = opts.from ?? 0;
  for (let start = from; start < from + count; start += 1000) {
    const chunk = [];
    for (let i = start; i < Math.min(from + count, start + 1000); i++) {
      const key = echoKey(i);
      keys.push(key);
      chunk.push(
        opts.ttl
          ? redis.setex(key, opts.ttl, echoValue(opts.ts ?? '20261101000000'))
          : redis.set(key, echoValue(opts.ts ?? '20261101000000')),
      );
    }
    await Promise.all(chunk);
  }
  return keys;
}

/** A keep-alive client for reading a Kask (emulator) base URL directly. */
export class KaskReader {
  readonly #pool: Pool;
  readonly #base: string;
  constructor(url: string) {
    const u = new URL(url);
    this.#pool = new Pool(u.origin, { connections: 16 });
    this.#base = u.pathname;
  }

  async get(key: string): Promise<string | null> {
    const res = await this.#pool.request({
      method: 'GET',
      path: this.#base + percentEncode(Buffer.from(key, 'latin1')),
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw new Error(`Kask GET ${key}: ${res.statusCode}`);
    return body.toString('latin1');
  }

  async set(key: string, body: string): Promise<void> {
    const res = await this.#pool.request({
      method: 'POST',
      path: this.#base + percentEncode(Buffer.from(key, 'latin1')),
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(body, 'latin1'),
    });
    await res.body.dump();
    if (res.statusCode !== 201) throw new Error(`Kask POST ${key}: ${res.statusCode}`);
  }

  /** How many of `keys` Kask holds. */
  async countPresent(keys: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < keys.length; i += 64) {
      const found = await Promise.all(keys.slice(i, i + 64).map((k) => this.get(k)));
      n += found.filter((v) => v !== null).length;
    }
    return n;
  }

  /** Keys where Kask is not convert(Redis) (absent on both sides counts as equal), with what each side held. */
  async divergent(redis: Redis | Cluster, keys: string[]): Promise<string[]> {
    const bad: string[] = [];
    for (let i = 0; i < keys.length; i += 64) {
      const chunk = keys.slice(i, i + 64);
      const [stored, held] = await Promise.all([
        Promise.all(chunk.map((k) => redis.getBuffer(k))),
        Promise.all(chunk.map((k) => this.get(k))),
      ]);
      chunk.forEach((key, j) => {
        const s = stored[j];
        const converted = s ? redisToEnvelope(s, VALUES) : null;
        const expected = converted?.ok ? converted.bytes.toString('latin1') : null;
        if (held[j] !== expected) bad.push(`${key}: kask=${held[j]} redis→${expected}`);
      });
    }
    return bad;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** A private redis-server and Kask emulator for one test, with a client and a Kask reader. */
export interface Pair {
  redisUrl: string;
  kaskUrl: string;
  redis: Redis;
  kask: KaskReader;
  stop(): Promise<void>;
}

export async function startPair(emulatorArgs: string[] = []): Promise<Pair> {
  const server = await startLocalRedis();
  const emulator = await spawnEmulator('/echoseen/v1/', ['--default-ttl', '0', ...emulatorArgs]);
  const redis = new IORedis(server.url);
  const kask = new KaskReader(emulator.url);
  return {
    redisUrl: server.url,
    kaskUrl: emulator.url,
    redis,
    kask,
    async stop() {
      redis.disconnect();
      await kask.close();
      await emulator.stop();
      await server.stop();
    },
  };
}

/** `kask-migration-proxy copy` from the pair's Redis into its Kask, with a JSON report, plus `args`. */
export function copyCli(pair: Pair, ...args: string[]) {
  return runCli(['copy', '--redis-url', pair.redisUrl, '--kask-url', pair.kaskUrl, '--json', ...args]);
}
