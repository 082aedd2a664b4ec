// `kask-migration-proxy phase get|set|status` end to end against a running sidecar: output, one-line errors and
// exit codes (0 done, 1 refused or failed, 2 usage).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackends } from '../support/backends.js';
import { type OpsSidecar, startOpsSidecar, TOKEN } from '../support/ops-sidecar.js';

const BIN = fileURLToPath(new URL('../../bin/kask-migration-proxy.js', import.meta.url));
const backends = useBackends();
let sidecar: OpsSidecar;
let tokenFile: string;

beforeAll(async () => {
  tokenFile = join(mkdtempSync(join(tmpdir(), 'kmp-token-')), 'admin-token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  sidecar = await startOpsSidecar(backends, ['--phase', 'migration'], {
    KMP_ADMIN_TOKEN: '',
    KMP_ADMIN_TOKEN_FILE: tokenFile,
  });
});
afterAll(async () => {
  await sidecar?.proc.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'phase', ...args],
      { env: { ...process.env, KMP_ADMIN_TOKEN: '', KMP_ADMIN_TOKEN_FILE: '', KMP_ADMIN_URL: '', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

const withAdmin = (...args: string[]) => [
  ...args,
  '--admin-url',
  sidecar.adminUrl,
  '--token-file',
  tokenFile,
];
const oneLine = (text: string) => text.trimEnd().split('\n').length === 1;

describe('phase CLI', () => {
  it('gets the phase', async () => {
    expect(await cli(withAdmin('get'))).toEqual({ code: 0, stdout: 'migration\n', stderr: '' });
  });

  it('sets a phase, and says when nothing changed', async () => {
    expect(await cli(withAdmin('set', 'dual-write'))).toMatchObject({
      code: 0,
      stdout: 'phase: migration -> dual-write\n',
    });
    expect((await cli(withAdmin('set', 'dual-write'))).stdout).toBe('phase: dual-write (unchanged)\n');
  });

  it('is refused a phase that stops reading Redis without the completion marker (exit 1, one line), unless forced', async () => {
    // Back to migration first (the previous test left dual-write): from dual-write, kask-primary is two rungs away.
    expect((await cli(withAdmin('set', 'migration'))).code).toBe(0);
    const refused = await cli(withAdmin('set', 'kask-primary'));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(oneLine(refused.stderr)).toBe(true);
    expect(refused.stderr).toMatch(
      /^kask-migration-proxy phase: refused \(HTTP 409\): kask-primary refused: .*kmp:copy:completed/,
    );
    const forced = await cli(withAdmin('set', 'kask-primary', '--force'));
    expect(forced).toMatchObject({ code: 0, stdout: 'phase: migration -> kask-primary (forced)\n' });
    expect((await cli(withAdmin('set', 'migration'))).code).toBe(0);
  });

  it('lists the fleet as a table, or as JSON', async () => {
    const table = await cli(withAdmin('status', '--fleet'));
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^INSTANCE +HOST +PHASE +VERSION +HEARTBEAT\n/);
    expect(table.stdout).toMatch(/ \* +\S+ +migration/);
    expect(table.stdout).toContain('1 migration');
    expect(table.stdout).toContain('kask-only entered: never');
    const json = await cli(withAdmin('status', '--fleet', '--json'));
    expect(JSON.parse(json.stdout)).toMatchObject({
      members: [{ phase: 'migration' }],
      kask_only_entered: null,
    });
  });

  it('prints /status as JSON', async () => {
    const run = await cli(withAdmin('status'));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ phase: 'migration', copy: { completed: false } });
  });

  it('takes the admin URL and token from the environment', async () => {
    const run = await cli(['get'], { KMP_ADMIN_URL: sidecar.adminUrl, KMP_ADMIN_TOKEN: TOKEN });
    expect(run).toMatchObject({ code: 0, stdout: 'migration\n' });
  });

  it('fails with exit 1 and one line on a wrong token or an unreachable admin API', async () => {
    const wrong = await cli(['get', '--admin-url', sidecar.adminUrl], { KMP_ADMIN_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      'kask-migration-proxy phase: unauthorized (HTTP 401): missing or invalid bearer token\n',
    );
    const away = await cli(['get', '--admin-url', 'http://127.0.0.1:1'], { KMP_ADMIN_TOKEN: TOKEN });
    expect(away.code).toBe(1);
    expect(oneLine(away.stderr)).toBe(true);
    expect(away.stderr).toContain('cannot reach the admin API at http://127.0.0.1:1');
  });

  it('answers usage mistakes with exit 2 and one line, before needing a token', async () => {
    for (const args of [
      [],
      ['set'],
      ['set', 'nonsense'],
      ['jump'],
      ['get', 'extra'],
      ['get', '--force'],
      ['get', '--fleet'],
      ['status', '--json'],
      ['--nope'],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(oneLine(run.stderr), run.stderr).toBe(true);
    }
    const noToken = await cli(['get']);
    expect(noToken).toMatchObject({ code: 2 });
    expect(noToken.stderr).toContain('no admin token');
  });

  it('has help with examples', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: kask-migration-proxy phase get');
    expect(run.stdout).toContain('Examples:');
    expect(run.stdout).toContain('--force');
  });
});
