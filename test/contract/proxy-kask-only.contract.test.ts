// The sidecar in kask-only phase, in front of the emulator: MediaWiki must not be able to tell it from Kask.
import { afterAll, beforeAll } from 'vitest';
import { type Spawned, spawnCli, spawnEmulator } from '../support/processes.js';
import { runKaskContract } from './kask-contract.js';

let kask: Spawned;
let proxy: Spawned;
beforeAll(async () => {
  kask = await spawnEmulator('/sessions/v1/');
  proxy = await spawnCli(
    [
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--base-uri',
      '/sessions/v1/',
      '--phase',
      'kask-only',
      '--kask-url',
      kask.url,
    ],
    {
      KMP_ADMIN_TOKEN: '',
    },
  );
});
afterAll(async () => {
  await proxy?.stop();
  await kask?.stop();
});

runKaskContract('sidecar (kask-only) → emulator', () => ({ port: proxy.port, baseUri: '/sessions/v1/' }));
