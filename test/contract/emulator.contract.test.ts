// The emulator must itself be Kask: the same contract suite real Kask's behaviour was written down from.
import { afterAll, beforeAll } from 'vitest';
import { type Spawned, spawnEmulator } from '../support/processes.js';
import { runKaskContract } from './kask-contract.js';

let emulator: Spawned;
beforeAll(async () => {
  emulator = await spawnEmulator('sessions/v1');
});
afterAll(async () => {
  await emulator?.stop();
});

runKaskContract('kask-emulator', () => ({ port: emulator.port, baseUri: '/sessions/v1/' }));
