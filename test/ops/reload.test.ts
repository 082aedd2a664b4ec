// SIGHUP re-reads the config file: reloadable keys apply at once, others are logged as needing a restart, an
// invalid file or a guarded phase is rejected with its reason and the running config stays.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { diffConfig } from '../../src/config/reload.js';
import { useBackends, writeConfig } from '../support/backends.js';
import { admin, kv, logLines, type OpsSidecar, startOpsSidecar, waitForLog } from '../support/ops-sidecar.js';
import { sleep } from '../support/wait.js';

const backends = useBackends();
let sidecar: OpsSidecar;
let file: string;

const yaml = (phase: string, level: string, extra = '', backfill = true) =>
  `phase: ${phase}\nlogging:\n  level: ${level}\nmigration:\n  backfill: ${backfill}\n${extra}`;

beforeAll(async () => {
  file = writeConfig(yaml('migration', 'info'));
  sidecar = await startOpsSidecar(backends, ['--config', file]);
});
afterAll(async () => {
  await sidecar?.proc.stop();
});

let reloads = 0;
/** Rewrites the file, sends SIGHUP, waits for the outcome line of this reload. */
async function reload(text: string): Promise<Record<string, unknown>> {
  writeFileSync(file, text);
  const seen = reloads++;
  sidecar.proc.child.kill('SIGHUP');
  const outcome = (l: Record<string, unknown>) =>
    l['event.action'] === 'config.reload' && l['event.outcome'] !== undefined;
  await waitForLog(sidecar.proc, () => logLines(sidecar.proc).filter(outcome).length > seen);
  return logLines(sidecar.proc).filter(outcome)[seen]!;
}

const phase = async () => (await admin(sidecar.adminUrl, 'GET', '/phase')).json.phase;
const debugLines = (requestId: string) =>
  logLines(sidecar.proc).filter((l) => l['event.action'] === 'request' && l['trace.id'] === requestId);

describe('SIGHUP reload', () => {
  it('applies a new phase and log level without a restart', async () => {
    await kv(sidecar.url, 'GET', 'k1', undefined, { 'x-request-id': 'before-reload' });
    const line = await reload(yaml('dual-write', 'debug', '  shadow_sample_rate: 0.5\n'));
    expect(line).toMatchObject({ 'event.outcome': 'success' });
    expect(line['kmp.changed']).toEqual(['phase', 'migration.shadow_sample_rate', 'logging.level']);
    expect(await phase()).toBe('dual-write');
    await kv(sidecar.url, 'GET', 'k1', undefined, { 'x-request-id': 'after-reload' });
    await sleep(100);
    expect(debugLines('before-reload')).toEqual([]);
    expect(debugLines('after-reload')).toHaveLength(1);
    const change = logLines(sidecar.proc).find((l) => l['event.action'] === 'phase.change');
    expect(change).toMatchObject({
      'kmp.source': 'sighup',
      'kmp.phase': 'dual-write',
      'kmp.phase_from': 'migration',
    });
  });

  it('rejects an invalid file with its reason and keeps the running config', async () => {
    for (const bad of [yaml('nonsense', 'info'), `${yaml('migration', 'info')}phse: typo\n`, 'phase: [\n']) {
      const line = await reload(bad);
      expect(line).toMatchObject({ 'log.level': 'error', 'event.outcome': 'failure' });
      expect(line['event.reason']).toMatch(/phase|phse|YAML/);
      expect(await phase()).toBe('dual-write');
    }
    await kv(sidecar.url, 'GET', 'k1', undefined, { 'x-request-id': 'after-bad-reload' });
    await sleep(100);
    expect(debugLines('after-bad-reload')).toHaveLength(1);
  });

  it('names changed keys that need a restart, and does not apply them', async () => {
    const line = await reload(
      yaml('dual-write', 'debug', '  shadow_sample_rate: 0.5\nfront:\n  max_key_bytes: 10\n'),
    );
    expect(line['event.outcome']).toBe('success');
    const warning = await waitForLog(sidecar.proc, (l) => Array.isArray(l['kmp.needs_restart']));
    expect(warning['kmp.needs_restart']).toEqual(['front.max_key_bytes']);
    expect(warning['log.level']).toBe('warn');
    expect((await kv(sidecar.url, 'GET', 'a-key-longer-than-ten-bytes')).status).toBe(404);
  });

  it('obeys the phase guard: a reload into a phase the guard refuses is refused whole', async () => {
    const line = await reload(yaml('kask-primary', 'info'));
    expect(line['event.outcome']).toBe('failure');
    expect(line['event.reason']).toContain('one rung of the ladder at a time');
    expect(await phase()).toBe('dual-write');
    // Nothing of the refused reload applied: the log level is still debug.
    await kv(sidecar.url, 'GET', 'k1', undefined, { 'x-request-id': 'after-refused-reload' });
    await sleep(100);
    expect(debugLines('after-refused-reload')).toHaveLength(1);
  });
});

describe('SIGHUP reload of migration settings', () => {
  const legacy = (n: number) => `global:echo:seen:alert:time:reload-legacy-${n}`;
  const backfilled = async (n: number) => {
    await backends.redis.set(legacy(n), 's:14:"20250101000000";');
    expect((await kv(sidecar.url, 'GET', legacy(n))).status).toBe(200);
    await sleep(200);
    return (await kv(backends.kask.url, 'GET', legacy(n))).status === 200;
  };

  it('rebuilds the phase in force when only a migration.* setting changed', async () => {
    const off = await reload(yaml('migration', 'info', '', false));
    expect(off['kmp.changed']).toEqual([
      'phase',
      'migration.backfill',
      'migration.shadow_sample_rate',
      'logging.level',
    ]);
    expect(await backfilled(1)).toBe(false);
    const on = await reload(yaml('migration', 'info', '', true));
    expect(on['kmp.changed']).toEqual(['migration.backfill']);
    expect(await phase()).toBe('migration');
    expect(await backfilled(2)).toBe(true);
  });
});

describe('config diff', () => {
  it('sorts changed keys into reloadable and restart-only, by their YAML names', () => {
    const a = loadConfig(null, {});
    const b = loadConfig(null, {
      phase: 'kask-only',
      'logging.level': 'warn',
      'migration.backfill': 'false',
      listen: '127.0.0.1:9999',
      'admin.listen': '127.0.0.1:9998',
      'emulator.default_ttl': '5',
    });
    expect(diffConfig(a, b)).toEqual({
      reloadable: ['migration.backfill', 'logging.level'],
      needsRestart: ['listen', 'admin.listen', 'emulator.default_ttl'],
      rebuild: true,
    });
    expect(diffConfig(a, loadConfig(null, {}))).toEqual({ reloadable: [], needsRestart: [], rebuild: false });
  });
});
