// The sidecar in every phase, in front of the emulator and a real redis-server: MediaWiki (and Kask's own
// monitoring) must not be able to tell it from Kask, whichever phase is in force. In the dual phases every value
// also goes through Redis (the bytes RedisBagOStuff would hold, or `b:0;` + the body for a body Redis cannot hold
// as a value), so the suite checks the codec's round trip as much as the routing.
import { afterAll, beforeAll, describe } from 'vitest';
import { spawnSidecar, useBackends } from '../support/backends.js';
import type { Spawned } from '../support/processes.js';
import { runKaskContract } from './kask-contract.js';

/** Every phase of the ladder, in order: a new phase is one more word here. */
const PHASES = ['dual-write', 'migration', 'kask-primary', 'redis-shadow', 'kask-only'] as const;

const BASE_URI = '/echoseen/v1/';
const backends = useBackends();

describe.each(PHASES)('phase %s', (phase) => {
  let proxy: Spawned;
  beforeAll(async () => {
    proxy = await spawnSidecar(backends, ['--phase', phase, '--base-uri', BASE_URI], {
      KMP_ADMIN_TOKEN: '',
    });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  runKaskContract(`sidecar (${phase}) → emulator + redis-server`, () => ({
    port: proxy.port,
    baseUri: BASE_URI,
  }));
});
