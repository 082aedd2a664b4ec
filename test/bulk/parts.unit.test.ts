// The bulk tools' pure parts: Redis glob matching, shard assignment, value kinds, and the pacer's backoff.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeGlob, globMatcher } from '../../src/bulk/glob.js';
import { Pacer } from '../../src/bulk/pacing.js';
import { shardOf } from '../../src/bulk/shard.js';
import { classifyValue, echoTimestamp, msToTs, tsToMs } from '../../src/bulk/value-kinds.js';
import { sleep } from '../support/wait.js';

const VALUES = { type: 'JSON' as const, hmacKey: null };

describe('globMatcher', () => {
  it.each([
    ['global:echo:seen:*', 'global:echo:seen:alert:time:1', true],
    ['*:echo:seen:*', 'global:echo:seen:alert:time:1', true],
    ['*:echo:seen:*', 'enwiki:echo:seen:message:time:2', true],
    ['*:echo:seen:*', 'echo:seen:x', false],
    ['h?llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[a-c]llo', 'hbllo', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a.b', 'axb', false],
  ])('%s on %s → %s', (pattern, key, expected) => {
    expect(globMatcher(pattern)(Buffer.from(key))).toBe(expected);
  });

  it('escapeGlob makes a prefix literal', () => {
    expect(globMatcher(`${escapeGlob('p*[x]?')}*`)(Buffer.from('p*[x]?key'))).toBe(true);
    expect(globMatcher(`${escapeGlob('p*')}*`)(Buffer.from('pq-key'))).toBe(false);
  });
});

describe('shardOf', () => {
  it('puts every key in exactly one shard of n, the same one each time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (key, n) => {
        const owner = shardOf(key, n);
        expect(owner).toBeGreaterThanOrEqual(0);
        expect(owner).toBeLessThan(n);
        expect(shardOf(Buffer.from(key), n)).toBe(owner);
      }),
    );
  });

  it('spreads Echo keys evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[shardOf(Buffer.from(`global:echo:seen:alert:time:${i}`), 4)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(600);
  });
});

describe('value kinds', () => {
  it.each([
    ['s:14:"20201010123456";', 'echo_timestamp'],
    ['20201010123456', 'echo_timestamp_int'],
    ['42', 'int'],
    ['i:42;', 'serialized_int'],
    ['s:3:"abc";', 'string'],
    ['a:1:{s:1:"a";i:1;}', 'array'],
    ['N;', 'other'],
    ['b:0;', 'false'],
    ['not php', 'unconvertible'],
    ['s:14:"20201399123456";', 'string'], // month 13: not a timestamp
  ])('%s is %s', (value, kind) => {
    expect(classifyValue(Buffer.from(value), VALUES)).toBe(kind);
  });

  it('reads TS_MW both ways', () => {
    expect(echoTimestamp(Buffer.from('s:14:"20201010123456";'))).toBe('20201010123456');
    expect(echoTimestamp(Buffer.from('20201010123456'))).toBe('20201010123456');
    expect(echoTimestamp(Buffer.from('20201310123456'))).toBeNull();
    expect(msToTs(tsToMs('20201010123456')!)).toBe('20201010123456');
  });
});

describe('Pacer', () => {
  it('halves concurrency and pauses while Kask fails, then grows back once it is healthy', async () => {
    let now = 0;
    const pacer = new Pacer({ maxConcurrency: 32, windowCalls: 10, basePauseMs: 100, now: () => now });
    for (let i = 0; i < 10; i++) pacer.observe(true, 2);
    expect(pacer.state).toBe('healthy');
    for (let i = 0; i < 10; i++) pacer.observe(false, 2);
    expect(pacer.state).toBe('failing');
    expect(pacer.limit).toBe(16);
    for (let i = 0; i < 10; i++) pacer.observe(false, 2);
    expect(pacer.limit).toBe(8);
    let ready = false;
    const waiting = pacer.ready().then(() => {
      ready = true;
    });
    await sleep(20);
    expect(ready).toBe(false); // paused: 200 ms after the second failing window
    now += 250;
    await waiting;
    for (let w = 0; w < 10; w++) for (let i = 0; i < 10; i++) pacer.observe(true, 2);
    expect(pacer.state).toBe('healthy');
    expect(pacer.limit).toBe(32);
  });

  it('narrows when latency climbs far above the healthy baseline', () => {
    const pacer = new Pacer({ maxConcurrency: 32, windowCalls: 10, now: () => 0 });
    for (let i = 0; i < 10; i++) pacer.observe(true, 2);
    for (let i = 0; i < 10; i++) pacer.observe(true, 500);
    expect(pacer.state).toBe('slow');
    expect(pacer.limit).toBe(16);
  });
});
