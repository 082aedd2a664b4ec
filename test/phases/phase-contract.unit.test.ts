// Every phase against the one phase contract (phase-contract.ts), in memory.
import { describe, expect, it } from 'vitest';
import { PHASE_NAMES } from '../../src/config/schema.js';
import { PHASE_PROMISES, phaseContract } from './phase-contract.js';

it('states the promises of every phase on the ladder, in its order', () => {
  expect(PHASE_PROMISES.map((p) => p.phase)).toEqual([...PHASE_NAMES]);
});

describe.each(PHASE_PROMISES.map((p) => [p.phase, p] as const))('%s', (_phase, p) => phaseContract(p));
