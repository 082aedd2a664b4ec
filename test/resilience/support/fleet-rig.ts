// Several sidecar processes sharing one redis-server and one Kask emulator (with fault control), each with its own
// admin API and its own Redis credentials: the stand-in for a fleet of MediaWiki hosts on an SRE's worst week.
// A sidecar can be given a Redis user whose writes an ACL refuses (as READONLY, OOM or a timeout would).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import type { FaultSettings } from '../../../src/emulator/faults.js';
import { type LocalRedis, startLocalRedis } from '../../../src/redis/local-server.js';
import { kaskControl } from '../../support/kask-control.js';
import { adminUrlOf, setPhase, setPhaseWhenSettled, TOKEN } from '../../support/ops-sidecar.js';
import { type Spawned, spawnCli, spawnEmulator } from '../../support/processes.js';
import { metricValue } from '../../support/rig.js';

export const BASE = '/echoseen/v1/';
export const TIMEOUTS = { kaskMs: 400, redisMs: 150, deadlineMs: 1000, settleMs: 1000 };
/** A Redis user that may read and run the queue's scripts but whose data writes are refused. */
const REFUSED_USER = { name: 'writes-refused', password: 'pw-refused' };

export interface FleetSidecar {
  proc: Spawned;
  pool: Pool;
  adminUrl: string;
  send(method: 'GET' | 'POST' | 'DELETE', key: string, body?: string): Promise<Answer>;
  setPhase(phase: string, force?: boolean): Promise<{ status: number; json: Record<string, unknown> }>;
  /** setPhase, retried while a previous change still settles (here or elsewhere in the fleet). */
  setPhaseWhenSettled(phase: string): Promise<{ status: number; json: Record<string, unknown> }>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface Answer {
  status: number;
  body: string;
  ms: number;
}

export interface FleetRig {
  redisServer: LocalRedis;
  redis: Redis;
  emulator: Spawned;
  /** Every sidecar started so far. */
  sidecars: FleetSidecar[];
  start(opts: { phase: string; refusedWrites?: boolean; yaml?: string }): Promise<FleetSidecar>;
  kaskFaults(settings: Partial<FaultSettings>): Promise<void>;
  kaskGet(key: string): Promise<string | null>;
  close(): Promise<void>;
}

function config(redisUrl: string, kaskUrl: string, phase: string, extra: string): string {
  return `phase: ${phase}
listen: 127.0.0.1:0
base_uri: ${BASE}
kask: { url: "${kaskUrl}", request_timeout_ms: ${TIMEOUTS.kaskMs}, connect_timeout_ms: 200, connections: 16 }
redis: { url: "${redisUrl}", command_timeout_ms: ${TIMEOUTS.redisMs}, connect_timeout_ms: 200 }
migration: { request_deadline_ms: ${TIMEOUTS.deadlineMs}, shadow_sample_rate: 0 }
breakers:
  kask: { volume_threshold: 1000 }
  redis: { volume_threshold: 1000 }
repair: { rate_per_second: 1000, settle_ms: ${TIMEOUTS.settleMs}, backoff_base_ms: 200, backoff_max_ms: 1600 }
fleet: { heartbeat_interval_ms: 200, member_ttl_ms: 2000 }
admin: { listen: "127.0.0.1:0" }
logging: { level: info }
${extra}
`;
}

export async function startFleetRig(): Promise<FleetRig> {
  const redisServer = await startLocalRedis();
  const redis = new Redis(redisServer.url);
  await redis.call(
    'ACL',
    'SETUSER',
    REFUSED_USER.name,
    'on',
    `>${REFUSED_USER.password}`,
    '~*',
    '+@all',
    '-set',
    '-setex',
    '-del',
  );
  const emulator = await spawnEmulator(BASE, ['--fault-control', '--default-ttl', '0']);
  const kask = kaskControl(emulator.port, BASE);
  const dir = mkdtempSync(join(tmpdir(), 'kmp-fleet-'));
  const sidecars: FleetSidecar[] = [];
  let n = 0;

  const simple = async (p: Pool, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: string) => {
    const started = performance.now();
    const res = await p.request({
      method,
      path,
      body,
      headers: body === undefined ? {} : { 'content-type': 'application/octet-stream' },
    });
    const text = Buffer.from(await res.body.arrayBuffer()).toString('latin1');
    return { status: res.statusCode, body: text, ms: performance.now() - started };
  };

  return {
    redisServer,
    redis,
    emulator,
    sidecars,
    async start({ phase, refusedWrites = false, yaml = '' }) {
      const url = new URL(redisServer.url);
      if (refusedWrites) {
        url.username = REFUSED_USER.name;
        url.password = REFUSED_USER.password;
      }
      const file = join(dir, `sidecar-${++n}.yaml`);
      writeFileSync(file, config(url.toString(), emulator.url, phase, yaml));
      const proc = await spawnCli(['serve', '--config', file, '--admin-listen', '127.0.0.1:0'], {
        KMP_ADMIN_TOKEN: TOKEN,
      });
      const pool = new Pool(new URL(proc.url).origin, { connections: 8, headersTimeout: 10_000 });
      const adminUrl = adminUrlOf(proc);
      const sidecar: FleetSidecar = {
        proc,
        pool,
        adminUrl,
        send: (method, key, body) => simple(pool, method, BASE + encodeURIComponent(key), body),
        setPhase: (to, force = false) => setPhase(adminUrl, to, force),
        setPhaseWhenSettled: (to) => setPhaseWhenSettled(adminUrl, to),
        metric: async (name, labels = {}) =>
          metricValue((await simple(pool, 'GET', '/metrics')).body, name, labels),
      };
      sidecars.push(sidecar);
      return sidecar;
    },
    kaskFaults: kask.faults,
    async kaskGet(key) {
      return (await kask.get(key))?.toString('latin1') ?? null;
    },
    async close() {
      for (const s of sidecars) {
        await s.pool.close();
        await s.proc.stop();
      }
      await kask.close();
      await emulator.stop();
      redis.disconnect();
      await redisServer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Seen-time helpers: the RESTBagOStuff body and the RedisBagOStuff bytes of one Echo timestamp. */
export const envelope = (ts: string) => `JSON.."${ts}"`;
export const redisBytes = (ts: string) => `s:14:"${ts}";`;
