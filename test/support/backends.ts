// The backends a multi-process suite runs against: a private redis-server and a Kask emulator process, started
// before the suite and stopped after it, plus throwaway config files for sidecars.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type LocalRedis, startLocalRedis } from '../../src/redis/local-server.js';
import { type Spawned, spawnCli, spawnEmulator } from './processes.js';

export interface Backends {
  redisServer: LocalRedis;
  /** A plain client for seeding and inspecting Redis. */
  redis: Redis;
  kask: Spawned;
}

/** Registers beforeAll/afterAll hooks; the returned object is filled in once the suite starts. */
export function useBackends(emulatorArgs: string[] = []): Backends {
  const backends = {} as Backends;
  beforeAll(async () => {
    backends.redisServer = await startLocalRedis();
    backends.redis = new Redis(backends.redisServer.url);
    backends.kask = await spawnEmulator('/echoseen/v1/', emulatorArgs);
  });
  afterAll(async () => {
    backends.redis?.disconnect();
    await backends.kask?.stop();
    await backends.redisServer?.stop();
  });
  return backends;
}

/** Writes a YAML config to a fresh temporary directory and returns its path. */
export function writeConfig(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kmp-config-')), 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** `serve` on a free port in front of the suite's backends; extra CLI args (e.g. --config, --phase) and env. */
export function spawnSidecar(
  backends: Backends,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Spawned> {
  return spawnCli(
    [
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--kask-url',
      backends.kask.url,
      '--redis-url',
      backends.redisServer.url,
      ...args,
    ],
    env,
  );
}
