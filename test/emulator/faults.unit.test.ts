// The emulator's fault knobs that tests steer "Kask" with: which requests they touch, and how often a key may fail.
import { expect, it } from 'vitest';
import { Faults } from '../../src/emulator/faults.js';

const key = (s: string) => Buffer.from(s, 'latin1');

it('fails only the methods and keys named', async () => {
  const faults = new Faults();
  faults.set({ errorRate: 1, methods: ['POST'], keys: ['a'] });
  expect(await faults.inject('POST', key('a'))).toBe(true);
  expect(await faults.inject('GET', key('a'))).toBe(false);
  expect(await faults.inject('POST', key('b'))).toBe(false);
});

it('failuresPerKey: each key fails that many times, then its requests go through; new settings count afresh', async () => {
  const faults = new Faults();
  faults.set({ errorRate: 1, failuresPerKey: 2 });
  const tries = async (k: string) => [
    await faults.inject('POST', key(k)),
    await faults.inject('POST', key(k)),
    await faults.inject('GET', key(k)),
  ];
  expect(await tries('a')).toEqual([true, true, false]);
  expect(await tries('b')).toEqual([true, true, false]);
  faults.set({ errorRate: 1, failuresPerKey: 1 });
  expect(await tries('a')).toEqual([true, false, false]);
  faults.set({ errorRate: 1 });
  expect(await tries('a')).toEqual([true, true, true]);
});
