// The unit tier's promise, checked where it is made: in that tier nothing starts a process or touches the network.
import { execFileSync, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UNIT_TIER } from './tier.js';

describe.runIf(UNIT_TIER)('the unit tier', () => {
  it('refuses to start a process', () => {
    expect(() => spawn('true')).toThrow(/unit tier/);
    expect(() => execFileSync('true')).toThrow(/unit tier/);
  });

  it('refuses to open a socket or listen on a port', async () => {
    expect(() => connect(9, '127.0.0.1')).toThrow(/unit tier/);
    expect(() => createServer().listen(0)).toThrow(/unit tier/);
    await expect(fetch('http://127.0.0.1:9/')).rejects.toThrow();
  });
});
