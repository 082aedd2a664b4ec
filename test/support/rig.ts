// A fault-injection rig of real processes on loopback: a persistent redis-server, the Kask emulator (with fault
// control) behind a killable forwarder standing in for Kask's process, and a sidecar in `migration` with short,
// test-sized timeouts and breakers. Faults are applied from outside, as an SRE's bad day would apply them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import type { FaultSettings } from '../../src/emulator/faults.js';
import { type LocalRedis, startLocalRedis } from '../../src/redis/local-server.js';
import { kaskControl } from './kask-control.js';
import { type Spawned, spawnCli, spawnEmulator } from './processes.js';
import { type Forwarder, startForwarder } from './tcp-forwarder.js';

export const BASE = '/echoseen/v1/';
/** Test-sized versions of the production settings (README "Failure modes"). */
export const TIMEOUTS = { kaskMs: 400, redisMs: 150 };
/** One deadline per request (migration.request_deadline_ms): every convergence round fits inside it. */
export const DEADLINE_MS = 1000;
/** The slowest request: its deadline, plus scheduling slack. */
export const BUDGET_MS = DEADLINE_MS + 500;

export interface Rig {
  redisServer: LocalRedis;
  /** A direct connection for checks and for pausing Redis. */
  redis: Redis;
  emulator: Spawned;
  forwarder: Forwarder;
  sidecar: Spawned;
  /** Keep-alive pool to the sidecar. */
  pool: Pool;
  kaskFaults(settings: Partial<FaultSettings>): Promise<void>;
  /** Reads Kask's storage directly (not through the forwarder). */
  kaskGet(key: string): Promise<Buffer | null>;
  metrics(): Promise<string>;
  healthz(): Promise<number>;
  /** /readyz's status: 200 once every backend connection the phase needs answers. */
  readyz(): Promise<number>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** `front:` settings, YAML flow-mapping body (e.g. `max_key_bytes: 1024`). */
  front?: string;
}

function sidecarConfig(kaskUrl: string, redisUrl: string, opts: RigOptions): string {
  return `phase: migration
listen: 127.0.0.1:0
base_uri: ${BASE}
kask: { url: "${kaskUrl}", request_timeout_ms: ${TIMEOUTS.kaskMs}, connect_timeout_ms: 200, connections: 32 }
redis: { url: "${redisUrl}", command_timeout_ms: ${TIMEOUTS.redisMs}, connect_timeout_ms: 200 }
breakers:
  kask: { volume_threshold: 5, rolling_window_ms: 1000, reset_timeout_ms: 500 }
  redis: { volume_threshold: 5, rolling_window_ms: 1000, reset_timeout_ms: 500 }
migration: { request_deadline_ms: ${DEADLINE_MS} }
repair: { rate_per_second: 1000, settle_ms: 1000, backoff_base_ms: 200, backoff_max_ms: 2000 }
front: { ${opts.front ?? 'request_timeout_ms: 5000'} }
admin: { listen: "" }
logging: { level: info }
`;
}

export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  const redisServer = await startLocalRedis('redis-server', { persist: true });
  const redis = new Redis(redisServer.url);
  redis.on('error', () => {}); // it is killed on purpose; commands report their own errors
  const emulator = await spawnEmulator(BASE, ['--fault-control']);
  const forwarder = await startForwarder(emulator.port);
  const dir = mkdtempSync(join(tmpdir(), 'kmp-faults-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, sidecarConfig(`http://127.0.0.1:${forwarder.port}${BASE}`, redisServer.url, opts));
  const sidecar = await spawnCli(['serve', '--config', file], { KMP_ADMIN_TOKEN: '' });
  const pool = new Pool(new URL(sidecar.url).origin, { connections: 16, headersTimeout: 10_000 });
  const kask = kaskControl(emulator.port, BASE);
  const simple = async (p: Pool, method: 'GET' | 'PUT', path: string, body?: string) => {
    const res = await p.request({ method, path, body });
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
  };
  return {
    redisServer,
    redis,
    emulator,
    forwarder,
    sidecar,
    pool,
    kaskFaults: kask.faults,
    kaskGet: kask.get,
    metrics: async () => (await simple(pool, 'GET', '/metrics')).body.toString(),
    healthz: async () => (await simple(pool, 'GET', '/healthz')).status,
    readyz: async () => (await simple(pool, 'GET', '/readyz')).status,
    async close() {
      await pool.close();
      await kask.close();
      await sidecar.stop();
      await forwarder.stop();
      await emulator.stop();
      redis.disconnect();
      await redisServer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sum of a Prometheus sample's values across series matching `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).startsWith('{')
      ? line.slice(name.length + 1, line.indexOf('}'))
      : '';
    const ok = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (ok) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
