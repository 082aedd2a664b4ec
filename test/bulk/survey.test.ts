// `survey` on a real redis-server: keys per pattern, value kinds (older integer rule counted apart), TTLs and the
// age histogram of Echo seen-times; and the copy time they imply.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { msToTs } from '../../src/bulk/value-kinds.js';
import { jsonReport, runCli } from '../support/cli-run.js';
import { echoValue, type Pair, startPair } from './support.js';

const DAY = 86_400_000;
let pair: Pair;
beforeAll(async () => {
  pair = await startPair();
  const ago = (days: number) => msToTs(Date.now() - days * DAY);
  const seen = [1, 2, 3, 10, 20, 60, 200, 400, 2000]; // 3 ≤ 7 d, 2 ≤ 30 d, 1 ≤ 90 d, 1 ≤ 1 y, 2 older
  for (const [i, days] of seen.entries())
    await pair.redis.setex(`global:echo:seen:alert:time:${i}`, 30 * 86_400, echoValue(ago(days)));
  await pair.redis.set('enwiki:echo:seen:alert:time:1', ago(5)); // bare digits: the older integer rule
  await pair.redis.set('enwiki:echo:seen:alert:time:2', 'garbage');
  await pair.redis.set('enwiki:echo:seen:alert:time:3', 'a:1:{s:1:"a";i:1;}');
  await pair.redis.set('enwiki:echo:seen:alert:time:3:lock', '1');
  await pair.redis.set('other', 'x');
});
afterAll(async () => {
  await pair?.stop();
});

const survey = (...args: string[]) => runCli(['survey', '--redis-url', pair.redisUrl, ...args]);

it('counts keys per pattern, value kinds, TTLs and seen-time ages', async () => {
  const run = await survey('--json', '--rate', '2');
  expect(run.code, run.stderr).toBe(0);
  const r = jsonReport(run);
  // Progress on stderr (JSON lines off a terminal), the last one at the end of the walk.
  const last = JSON.parse(run.stderr.trim().split('\n').at(-1)!);
  expect(last).toMatchObject({ event: 'survey.progress', scanned: 13, examined: 12 });
  expect(r.keys_per_pattern).toEqual({ 'global:echo:seen:*': 9, '*:echo:seen:*': 4 });
  expect(r).toMatchObject({ lock_keys: 1, data_keys: 12, examined: 12, sampled: false });
  expect(r.value_kinds).toMatchObject({
    echo_timestamp: 9,
    echo_timestamp_int: 1,
    array: 1,
    unconvertible: 1,
  });
  expect(r.older_integer_rule).toEqual({ echo_timestamp_int: 1, serialized_int: 0 });
  expect(r.ttl).toMatchObject({ none: 3, '< 30 d': 9 });
  expect(r.echo_timestamp_age).toEqual({ '<= 7 d': 4, '<= 30 d': 2, '<= 90 d': 1, '<= 1 y': 1, older: 2 });
  expect(r.examples).toEqual({
    echo_timestamp_int: ['enwiki:echo:seen:alert:time:1'],
    unconvertible: ['enwiki:echo:seen:alert:time:2'],
  });
  expect(r).toMatchObject({ copyable_keys: 11, rate_keys_per_second: 2, implied_copy_seconds: 6 });
}, 120_000);

it('reads a sample of values but counts every key, and draws bars in text mode', async () => {
  const sampled = jsonReport(await survey('--json', '--sample', '4'));
  expect(sampled).toMatchObject({ data_keys: 12, examined: 4, sampled: true });
  const text = await survey();
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/<= 7 d +4 +40\.0% █+/);
  expect(text.stdout).toMatch(/Copy: about 11 keys to copy; at 1000 keys\/s that is 0 s/);
  expect(text.stdout).not.toContain('garbage');
}, 120_000);
