// deploy/container/healthcheck.mjs, the image's HEALTHCHECK: finds the listen address from the config file and
// KMP_* overrides like `serve` does, exits 0 while /healthz answers and 1 once nothing does.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useBackends, writeConfig } from '../support/backends.js';
import { spawnCli } from '../support/processes.js';

const HEALTHCHECK = fileURLToPath(new URL('../../deploy/container/healthcheck.mjs', import.meta.url));

function healthcheck(configFile: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [HEALTHCHECK], {
    env: { PATH: process.env.PATH, KMP_CONFIG_FILE: configFile, ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('the image HEALTHCHECK script', () => {
  const backends = useBackends();

  it('passes while the sidecar serves /healthz on the configured address, fails once it is gone', async () => {
    const config = writeConfig('listen: 127.0.0.1:0\nadmin:\n  listen: ""\n');
    const proc = await spawnCli([
      'serve',
      '--config',
      config,
      '--kask-url',
      backends.kask.url,
      '--redis-url',
      backends.redisServer.url,
    ]);
    // The sidecar took a free port; the healthcheck learns it from the file (as in the image) or from KMP_LISTEN.
    writeFileSync(config, `listen: 127.0.0.1:${proc.port}\nadmin:\n  listen: ""\n`);
    try {
      expect(healthcheck(config)).toEqual({ status: 0, stderr: '' });
      const viaEnv = writeConfig('listen: 127.0.0.1:1\n');
      expect(healthcheck(viaEnv, { KMP_LISTEN: `127.0.0.1:${proc.port}` }).status).toBe(0);
    } finally {
      expect(await proc.stop()).toBe(0);
    }
    const after = healthcheck(config);
    expect(after.status).toBe(1);
    expect(after.stderr).toMatch(/^healthcheck: /);
  });

  it('fails with the reason when the config cannot be loaded', () => {
    const broken = writeConfig('listen: nowhere\n');
    const r = healthcheck(broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/listen/);
  });
});
