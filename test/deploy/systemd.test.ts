// deploy/systemd: the unit passes `systemd-analyze verify` and its offline security review, and the service it
// describes works: its ExecStart line with its Environment, credentials and the shipped config starts a sidecar,
// its ExecReload command flips the phase from the edited config, and SIGTERM (KillSignal) exits 0 in time.
// (systemd is not PID 1 on CI machines, so the sandbox itself is not exercised; see docs/deploy.md.)
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackends } from '../support/backends.js';
import { adminUrlOf } from '../support/ops-sidecar.js';
import { spawnCli } from '../support/processes.js';
import { eventually } from '../support/wait.js';

const SYSTEMD_DIR = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url));
const UNIT_NAME = 'kask-migration-proxy.service';
const UNIT_FILE = join(SYSTEMD_DIR, UNIT_NAME);
const REPO_BIN = fileURLToPath(new URL('../../bin/kask-migration-proxy.js', import.meta.url));
/** Where the unit expects the package (npm install --global --prefix …). */
const INSTALL_PREFIX = '/opt/kask-migration-proxy';
const CONFIG_PATH = '/etc/kask-migration-proxy/config.yaml';

/** The unit's [Service] settings, each key with every value it is given (in order). */
function serviceSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

const one = (settings: Map<string, string[]>, key: string): string => {
  const values = settings.get(key) ?? [];
  if (values.length !== 1) throw new Error(`${key}: expected one value, got ${JSON.stringify(values)}`);
  return values[0]!;
};

const analyzeUnavailable = (() => {
  const r = spawnSync('systemd-analyze', ['--version'], { stdio: 'pipe' });
  return r.error ? `systemd-analyze is not installed (${(r.error as NodeJS.ErrnoException).code})` : null;
})();
if (analyzeUnavailable) console.warn(`SKIP deploy/systemd verify tests: ${analyzeUnavailable}`);

describe('deploy/systemd unit', () => {
  let tmp: string;
  const unitText = readFileSync(UNIT_FILE, 'utf8');
  const settings = serviceSettings(unitText);

  /** The unit with its install prefix pointed at a stand-in install of this checkout, in a directory of its own. */
  function installedCopy(text = unitText): string {
    const prefix = join(tmp, 'prefix');
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    try {
      symlinkSync(REPO_BIN, join(prefix, 'bin', 'kask-migration-proxy'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const dir = mkdtempSync(join(tmp, 'unit-'));
    const file = join(dir, UNIT_NAME);
    writeFileSync(file, text.replaceAll(INSTALL_PREFIX, prefix));
    return file;
  }

  function verify(file: string): { status: number | null; output: string } {
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  }

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kmp-systemd-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('restarts on failure, reloads with SIGHUP, stops with SIGTERM within a timeout longer than the drain', () => {
    expect(one(settings, 'Restart')).toBe('on-failure');
    expect(one(settings, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one(settings, 'KillSignal')).toBe('SIGTERM');
    const config = readFileSync(join(SYSTEMD_DIR, 'config.yaml'), 'utf8');
    const drainMs = Number(/drain_timeout_ms: (\d+)/.exec(config)?.[1]);
    expect(Number.parseInt(one(settings, 'TimeoutStopSec'), 10) * 1000).toBeGreaterThan(drainMs);
  });

  it('is sandboxed: transient user, read-only system, private /tmp, no new privileges, no capabilities', () => {
    expect(one(settings, 'DynamicUser')).toBe('yes');
    expect(one(settings, 'ProtectSystem')).toBe('strict');
    expect(one(settings, 'ProtectHome')).toBe('yes');
    expect(one(settings, 'PrivateTmp')).toBe('yes');
    expect(one(settings, 'NoNewPrivileges')).toBe('yes');
    expect(one(settings, 'CapabilityBoundingSet')).toBe('');
    // V8's JIT needs writable+executable memory: this setting would kill Node at start.
    expect(settings.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it.skipIf(analyzeUnavailable !== null)('passes systemd-analyze verify without a warning', () => {
    expect(verify(installedCopy())).toEqual({ status: 0, output: '' });
  });

  it.skipIf(analyzeUnavailable !== null)(
    'systemd-analyze verify catches a broken unit (the check is not vacuous)',
    () => {
      const broken = verify(installedCopy(unitText.replace('Restart=on-failure', 'Restart=sometimes')));
      expect(broken.output).toMatch(/restart specifier/);
      const missing = verify(installedCopy(unitText.replaceAll(INSTALL_PREFIX, '/nonexistent/kmp')));
      expect(missing.status).not.toBe(0);
    },
  );

  it.skipIf(analyzeUnavailable !== null)(
    "systemd-analyze security rates the sandbox's exposure as low",
    () => {
      const out = execFileSync(
        'systemd-analyze',
        ['security', '--offline=yes', '--no-pager', installedCopy()],
        {
          encoding: 'utf8',
        },
      );
      const level = Number(/Overall exposure level for .*: ([\d.]+)/.exec(out)?.[1]);
      expect(level).toBeLessThanOrEqual(2);
    },
  );
});

describe("the unit's service, run as systemd would start it (without the sandbox)", () => {
  const backends = useBackends();
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kmp-systemd-run-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('starts from ExecStart + Environment + credentials, flips phase on ExecReload, exits 0 on SIGTERM', async () => {
    const settings = serviceSettings(readFileSync(UNIT_FILE, 'utf8'));
    // LoadCredential=ID:PATH copies PATH to $CREDENTIALS_DIRECTORY/ID, which %d names.
    const credentials = join(tmp, 'credentials');
    mkdirSync(credentials);
    const secrets = { 'hmac-key': 'systemd-test-hmac-key', 'admin-token': 'systemd-test-admin-token' };
    for (const entry of settings.get('LoadCredential') ?? []) {
      const [id, path] = entry.split(':') as [keyof typeof secrets, string];
      expect(path).toMatch(/^\/etc\/kask-migration-proxy\/secrets\//);
      expect(secrets[id], `a test value for credential ${id}`).toBeDefined();
      writeFileSync(join(credentials, id), `${secrets[id]}\n`);
    }
    const env: Record<string, string> = {};
    for (const line of settings.get('Environment') ?? [])
      for (const assignment of line.split(/\s+/)) {
        const eq = assignment.indexOf('=');
        env[assignment.slice(0, eq)] = assignment.slice(eq + 1).replaceAll('%d', credentials);
      }
    // What /etc/default/kask-migration-proxy (EnvironmentFile) would hold on this host: the test's backends.
    Object.assign(env, {
      KMP_LISTEN: '127.0.0.1:0',
      KMP_KASK_URL: backends.kask.url,
      KMP_REDIS_URL: backends.redisServer.url,
    });
    const config = join(tmp, 'config.yaml');
    copyFileSync(join(SYSTEMD_DIR, 'config.yaml'), config);

    const [exe, ...argv] = one(settings, 'ExecStart').split(/\s+/);
    expect(exe).toBe(`${INSTALL_PREFIX}/bin/kask-migration-proxy`);
    expect(argv).toEqual(['serve', '--config', CONFIG_PATH]);
    const proc = await spawnCli(
      argv.map((a) => (a === CONFIG_PATH ? config : a)),
      env,
    );
    try {
      const origin = new URL(proc.url).origin;
      expect((await fetch(`${origin}/healthz`)).status).toBe(200);
      const adminPhase = async (): Promise<string> => {
        const res = await fetch(`${adminUrlOf(proc)}/phase`, {
          headers: { authorization: `Bearer ${secrets['admin-token']}` },
        });
        expect(res.status, 'the admin token from the credential is accepted').toBe(200);
        return ((await res.json()) as { phase: string }).phase;
      };
      expect(await adminPhase()).toBe('dual-write');

      // The operator edits the phase, then `systemctl reload` runs ExecReload with $MAINPID.
      writeFileSync(config, readFileSync(config, 'utf8').replace('phase: dual-write', 'phase: migration'));
      const [killer, ...killArgs] = one(settings, 'ExecReload')
        .split(/\s+/)
        .map((a) => (a === '$MAINPID' ? String(proc.child.pid) : a));
      execFileSync(killer!, killArgs);
      await eventually(adminPhase, (phase) => phase === 'migration', 10_000, 50);
      expect(await adminPhase()).toBe('migration');
    } finally {
      const timeoutStopMs = Number.parseInt(one(settings, 'TimeoutStopSec'), 10) * 1000;
      expect(await proc.stop(timeoutStopMs)).toBe(0);
    }
    expect(proc.output()).not.toContain(secrets['admin-token']);
    expect(proc.output()).not.toContain(secrets['hmac-key']);
  });
});
