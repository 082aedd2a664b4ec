// The admin API against a real sidecar: bearer-token auth (401s, no token configured), the phase guard (one rung at
// a time, the copy's completion marker, the repair queue, the fleet registry, no way back after kask-only) with its
// refusals and force, and the completion marker read over a short-lived connection in kask-only.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import {
  COMPLETION_MARKER_KEY,
  type CopyCompletion,
  deleteCompletionMarker,
  writeCompletionMarker,
} from '../../src/fleet/completion-marker.js';
import { FLEET_KEYS } from '../../src/fleet/registry.js';
import { bearerCheck } from '../../src/ops/admin-auth.js';
import { createMarkerProbe } from '../../src/ops/marker-probe.js';
import { RedisStore } from '../../src/redis/store.js';
import { REPAIR_QUEUE_KEYS } from '../../src/resilience/repair-ledger.js';
import { useBackends } from '../support/backends.js';
import {
  admin,
  logLines,
  type OpsSidecar,
  setPhase,
  setPhaseWhenSettled,
  startOpsSidecar,
  TOKEN,
} from '../support/ops-sidecar.js';
import { eventually, sleep } from '../support/wait.js';

const backends = useBackends();
let store: RedisStore;

beforeAll(async () => {
  store = new RedisStore({
    url: backends.redisServer.url,
    clusterNodes: [],
    keyPrefix: '',
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  });
  await store.connect();
});
afterAll(async () => {
  await store?.close();
});

const MARKER: CopyCompletion = {
  completed_at: '2026-11-25T10:00:00.000Z',
  run_id: 'test-run',
  keys_scanned: 10,
  keys_copied: 8,
  keys_skipped: 2,
  keys_failed: 0,
  shards: { count: 1, done: [0] },
  version: '0.1.0',
};

describe('bearer token check', () => {
  const check = bearerCheck(TOKEN);

  it('accepts exactly the configured token', () => {
    expect(check(`Bearer ${TOKEN}`)).toBe(true);
    expect(check(`bearer ${TOKEN}`)).toBe(true);
  });

  it('refuses wrong tokens of every length without throwing (digests are compared, not the strings)', () => {
    // timingSafeEqual throws on buffers of different lengths: not throwing shows both sides were hashed first.
    for (const wrong of ['', 'x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), 'y'.repeat(10_000)])
      expect(check(`Bearer ${wrong}`)).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(check(TOKEN)).toBe(false);
    expect(check(`Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`)).toBe(false);
  });

  it('refuses everything when no token is configured', () => {
    const none = bearerCheck(null);
    expect(none(undefined)).toBe(false);
    expect(none('Bearer ')).toBe(false);
    expect(none('Bearer null')).toBe(false);
  });
});

describe('admin API with a token', () => {
  let sidecar: OpsSidecar;
  beforeAll(async () => {
    sidecar = await startOpsSidecar(backends, ['--phase', 'migration']);
  });
  afterAll(async () => {
    await sidecar?.proc.stop();
  });
  afterEach(async () => {
    await deleteCompletionMarker(store);
    await backends.redis.del(FLEET_KEYS.kaskOnlyEntered);
    await setPhase(sidecar.adminUrl, 'migration', true);
    await backends.redis.hdel(FLEET_KEYS.members, 'other-host:8081');
  });

  it('answers 401 JSON with a Bearer challenge to a missing or wrong token, on every route', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
      for (const [method, path] of [
        ['GET', '/phase'],
        ['PUT', '/phase'],
        ['GET', '/status'],
        ['GET', '/fleet'],
        ['GET', '/nope'],
      ] as const) {
        const res = await admin(sidecar.adminUrl, method, path, {
          authorization,
          body: method === 'PUT' ? { phase: 'kask-only', force: true } : undefined,
        });
        expect(res.status).toBe(401);
        expect(res.json).toMatchObject({ error: 'unauthorized', reason: 'missing or invalid bearer token' });
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      }
    }
    expect((await admin(sidecar.adminUrl, 'GET', '/phase')).json).toEqual({ phase: 'migration' });
  });

  it('never logs the token, not even a wrong one', async () => {
    await admin(sidecar.adminUrl, 'GET', '/phase', { authorization: 'Bearer WRONG-zz9-token' });
    const out = sidecar.proc.output();
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain('WRONG-zz9-token');
    expect(logLines(sidecar.proc).some((l) => l['event.action'] === 'admin.auth')).toBe(true);
  });

  it('rejects bad bodies with 400 and a reason', async () => {
    for (const body of [null, [], { phase: 'nope' }, { phase: 'migration', force: 'yes' }, 'text']) {
      const res = await admin(sidecar.adminUrl, 'PUT', '/phase', { body, authorization: `Bearer ${TOKEN}` });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('bad_request');
      expect(typeof res.json.reason).toBe('string');
    }
  });

  it('refuses kask-primary (it stops reading Redis) without the completion marker, explaining why (409)', async () => {
    const res = await setPhase(sidecar.adminUrl, 'kask-primary');
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ error: 'refused', phase: 'migration', requested: 'kask-primary' });
    expect(res.json.reason).toContain(COMPLETION_MARKER_KEY);
    expect(res.json.reason).toContain('force');
    expect((await admin(sidecar.adminUrl, 'GET', '/phase')).json.phase).toBe('migration');
  });

  it('moves one rung of the ladder at a time unless forced', async () => {
    await writeCompletionMarker(store, MARKER);
    const jump = await setPhase(sidecar.adminUrl, 'kask-only');
    expect(jump.status).toBe(409);
    expect(jump.json.reason).toContain('one rung of the ladder at a time');
    expect(jump.json.reason).toContain('from migration the next step is dual-write or kask-primary');
    const forced = await setPhase(sidecar.adminUrl, 'kask-only', true);
    expect(forced).toMatchObject({
      status: 200,
      json: { phase: 'kask-only', previous: 'migration', changed: true, forced: true },
    });
    expect((await setPhase(sidecar.adminUrl, 'kask-only')).json.changed).toBe(false);
  });

  it('climbs the ladder once the bulk copy has recorded completion, and /status shows the marker', async () => {
    await writeCompletionMarker(store, MARKER);
    const status = await admin(sidecar.adminUrl, 'GET', '/status');
    expect(status.json).toMatchObject({
      phase: 'migration',
      copy: { completed: true, marker_key: COMPLETION_MARKER_KEY, marker: MARKER },
      in_flight_requests: 0,
    });
    // Filled in by the breakers and the repair queue through the status provider hooks.
    expect(Array.isArray(status.json.breakers)).toBe(true);
    expect(status.json).toHaveProperty('repair_queue');
    for (const [from, to] of [
      ['migration', 'kask-primary'],
      ['kask-primary', 'redis-shadow'],
      ['redis-shadow', 'kask-only'],
    ]) {
      const res = await setPhaseWhenSettled(sidecar.adminUrl, to!);
      expect(res).toMatchObject({ status: 200, json: { phase: to, previous: from, forced: false } });
    }
  });

  it('refuses a return to a phase that trusts Redis once kask-only was entered, until forced', async () => {
    await writeCompletionMarker(store, MARKER);
    for (const to of ['kask-primary', 'redis-shadow', 'kask-only', 'redis-shadow'])
      expect((await setPhaseWhenSettled(sidecar.adminUrl, to)).status).toBe(200);
    const back = await setPhaseWhenSettled(sidecar.adminUrl, 'kask-primary');
    expect(back.status).toBe(409);
    expect(back.json.reason).toContain('a host has run kask-only');
    expect((await setPhase(sidecar.adminUrl, 'kask-primary', true)).status).toBe(200);
  });

  it('refuses a phase that is not a neighbour of every live sidecar, naming them; /fleet lists the fleet', async () => {
    await writeCompletionMarker(store, MARKER);
    const other = {
      instance: 'other-host:8081',
      host: 'other-host',
      pid: 1,
      version: '0.1.0',
      phase: 'dual-write',
      settling: null,
      settles_at_ms: 0,
      heartbeat_at_ms: Date.now(),
      expires_at_ms: Date.now() + 60_000,
      started_at_ms: Date.now(),
    };
    await backends.redis.hset(FLEET_KEYS.members, other.instance, JSON.stringify(other));
    const res = await setPhase(sidecar.adminUrl, 'kask-primary');
    expect(res.status).toBe(409);
    expect(res.json.reason).toContain('other-host:8081 (dual-write)');
    expect((await admin(sidecar.adminUrl, 'GET', '/phase')).json.phase).toBe('migration');
    const fleet = await admin(sidecar.adminUrl, 'GET', '/fleet');
    const phases = (fleet.json.members as Array<{ instance: string; phase: string }>).map((m) => m.phase);
    expect(phases.sort()).toEqual(['dual-write', 'migration']);
    // Once the other host has moved on (its record says migration), the change goes through.
    await backends.redis.hset(
      FLEET_KEYS.members,
      other.instance,
      JSON.stringify({ ...other, phase: 'migration' }),
    );
    expect((await setPhase(sidecar.adminUrl, 'kask-primary')).status).toBe(200);
  });

  it('refuses kask-only while keys wait in the repair queue, even with the marker; force still works', async () => {
    await writeCompletionMarker(store, MARKER);
    expect((await setPhaseWhenSettled(sidecar.adminUrl, 'kask-primary')).status).toBe(200);
    expect((await setPhaseWhenSettled(sidecar.adminUrl, 'redis-shadow')).status).toBe(200);
    // A key waiting for repair (documented queue key), due in a minute, so the repairer leaves it alone.
    await backends.redis.zadd(
      REPAIR_QUEUE_KEYS.queue,
      Date.now() + 60_000,
      'global:echo:seen:alert:time:waiting',
    );
    try {
      const attempt = async () => {
        const res = await setPhaseWhenSettled(sidecar.adminUrl, 'kask-only');
        if (res.status === 200) await setPhase(sidecar.adminUrl, 'redis-shadow', true); // not counted yet
        return res;
      };
      const res = await eventually(attempt, (r) => r.status === 409, 5_000, 100);
      expect(res.status).toBe(409);
      expect(res.json.reason).toContain('repair queue');
      expect((await setPhase(sidecar.adminUrl, 'kask-only', true)).json).toMatchObject({
        phase: 'kask-only',
        forced: true,
      });
    } finally {
      await backends.redis.del(REPAIR_QUEUE_KEYS.queue);
    }
  });

  it('treats a marker of an unfinished sharded run as no marker', async () => {
    await store.set(
      Buffer.from(COMPLETION_MARKER_KEY),
      Buffer.from(JSON.stringify({ ...MARKER, shards: { count: 2, done: [1] } })),
      0,
    );
    const res = await setPhase(sidecar.adminUrl, 'kask-primary');
    expect(res.status).toBe(409);
    expect(res.json.reason).toContain('shard 0 of 2');
  });
});

describe('admin API in kask-only', () => {
  it('reports the completion marker although kask-only keeps no Redis connection', async () => {
    await writeCompletionMarker(store, MARKER);
    const sidecar = await startOpsSidecar(backends, ['--phase', 'kask-only']);
    try {
      const status = await admin(sidecar.adminUrl, 'GET', '/status');
      expect(status.json).toMatchObject({ phase: 'kask-only', copy: { completed: true, marker: MARKER } });
      // The fleet view needs the sidecar's own Redis connection, which kask-only never opens for it.
      const fleet = await admin(sidecar.adminUrl, 'GET', '/fleet');
      expect(fleet.status).toBe(503);
      expect(fleet.json.reason).toContain('keeps no Redis connection');
    } finally {
      await sidecar.proc.stop();
      await deleteCompletionMarker(store);
    }
  });

  it('reads the marker over a short-lived connection when none is open, and closes it', async () => {
    await writeCompletionMarker(store, MARKER);
    const clients = async () =>
      Number((await backends.redis.info('clients')).match(/connected_clients:(\d+)/)![1]);
    const before = await clients();
    const settings = loadConfig(null, { 'redis.url': backends.redisServer.url }).redis;
    const probe = createMarkerProbe({ opened: () => null }, settings);
    for (let i = 0; i < 3; i++) expect(await probe()).toEqual({ kind: 'present', marker: MARKER });
    await sleep(100);
    expect(await clients()).toBe(before);
    await deleteCompletionMarker(store);
    expect(await probe()).toEqual({ kind: 'absent' });
    const embedded = createMarkerProbe({ opened: () => null }, { ...settings, url: 'embedded' });
    expect((await embedded()).kind).toBe('unreadable');
  });
});

describe('admin API without a token', () => {
  it('refuses every request and warns at start-up', async () => {
    const sidecar = await startOpsSidecar(backends, [], { KMP_ADMIN_TOKEN: '' });
    try {
      for (const authorization of [undefined, 'Bearer ', 'Bearer undefined', `Bearer ${TOKEN}`]) {
        const res = await admin(sidecar.adminUrl, 'GET', '/phase', { authorization });
        expect(res.status).toBe(401);
        expect(res.json.reason).toContain('no admin token is configured');
      }
      const warning = logLines(sidecar.proc).find(
        (l) => l['event.action'] === 'admin.start' && l['log.level'] === 'warn',
      );
      expect(warning?.message).toContain('refuses every request');
    } finally {
      await sidecar.proc.stop();
    }
  });
});
