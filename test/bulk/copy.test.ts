// `copy` against a real redis-server and Kask emulator: what it copies and skips, the completion records of a
// sharded run, --dry-run, and the one-line errors of bad flags and unreachable stores.
import { mkdtempSync, readdirSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/bulk/shard.js';
import { writeConfig } from '../support/backends.js';
import { jsonReport, runCli } from '../support/cli-run.js';
import { copyCli, echoKey, echoValue, type Pair, seedEcho, startPair } from './support.js';

let pair: Pair;
beforeEach(async () => {
  pair = await startPair();
});
afterEach(async () => {
  await pair?.stop();
});

const copy = (...args: string[]) => copyCli(pair, ...args);

describe('copy', { timeout: 180_000 }, () => {
  it('copies every Echo key as its converted value and skips, by reason, what must not be copied', async () => {
    const keys = await seedEcho(pair.redis, 3000);
    await pair.redis.set('enwiki:echo:seen:message:time:7', '20201010123456'); // older integer rule
    await pair.redis.set('enwiki:echo:seen:message:time:8', 's:14:"20100101000000";'); // old (see --since)
    await pair.redis.set('enwiki:echo:seen:message:time:9', 'not php'); // unconvertible
    await pair.redis.set('enwiki:echo:seen:message:time:10', 'b:0;'); // PHP false
    await pair.redis.setex('enwiki:echo:seen:message:time:11', 30, echoValue('20261101000000')); // short TTL
    await pair.redis.set('enwiki:echo:seen:message:time:12:lock', '1');
    await pair.redis.set('kmp:echo:seen:own', '1');
    await pair.redis.set('unrelated:key', echoValue('20261101000000'));
    await pair.kask.set(echoKey(0), 'JSON.."20000101000000"'); // Kask already has it: left alone

    const run = await copy('--min-ttl', '60', '--since', '2015-01-01');
    expect(run.code, run.stderr).toBe(0);
    const report = jsonReport(run);
    expect(report).toMatchObject({ scanned: 3007, copied: 3000, skipped: 7, failed: 0, finished: true });
    expect(report.skipped_by).toMatchObject({
      present: 1,
      own_key: 1,
      lock_key: 1,
      unconvertible: 1,
      false_value: 1,
      short_ttl: 1,
      too_old: 1,
    });
    expect(report.examples).toEqual({ unconvertible: ['enwiki:echo:seen:message:time:9'] });
    expect(run.stdout).not.toContain('not php'); // keys, never values

    expect(await pair.kask.get(echoKey(0))).toBe('JSON.."20000101000000"');
    expect(await pair.kask.divergent(pair.redis, keys.slice(1))).toEqual([]);
    expect(await pair.kask.get('enwiki:echo:seen:message:time:7')).toBe('JSON..20201010123456');
    for (const skipped of ['8', '9', '10', '11', '12:lock'])
      expect(await pair.kask.get(`enwiki:echo:seen:message:time:${skipped}`)).toBeNull();
    expect(await pair.kask.get('unrelated:key')).toBeNull();
    const marker = JSON.parse((await pair.redis.get('kmp:copy:completed'))!);
    expect(marker).toMatchObject({ keys_copied: 3000, keys_failed: 0, shards: { count: 1, done: [0] } });
  });

  it('a matching key that holds no string (a hash, a list) is skipped, with or without --min-ttl', async () => {
    await seedEcho(pair.redis, 10);
    await pair.redis.hset('enwiki:echo:seen:hash', 'f', 'v');
    await pair.redis.rpush('enwiki:echo:seen:list', 'a');
    for (const flags of [[], ['--min-ttl', '60']]) {
      const run = await copy(...flags);
      expect(run.code, run.stderr).toBe(0);
      expect(jsonReport(run)).toMatchObject({ scanned: 12, failed: 0, skipped_by: { vanished: 2 } });
    }
    expect(await pair.kask.get('enwiki:echo:seen:hash')).toBeNull();
  });

  it('--dry-run writes nothing to either store and reports what it would copy', async () => {
    const keys = await seedEcho(pair.redis, 500);
    const before = (await pair.redis.keys('*')).sort();
    const dir = mkdtempSync(join(tmpdir(), 'kmp-dry-'));
    const run = await copy('--dry-run', '--checkpoint-dir', dir);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonReport(run)).toMatchObject({ dry_run: true, scanned: 500, copied: 500, failed: 0 });
    expect(jsonReport(run).completion).toMatchObject({ recorded: 'none', reason: 'dry run' });
    expect((await pair.redis.keys('*')).sort()).toEqual(before);
    expect(await pair.kask.countPresent(keys)).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('shards 0..n-1 cover every key exactly once; the marker appears only when the last shard is done', async () => {
    const keys = await seedEcho(pair.redis, 2000);
    const expected = [0, 0, 0];
    for (const k of keys) expected[shardOf(Buffer.from(k), 3)]!++;
    const dir = mkdtempSync(join(tmpdir(), 'kmp-shards-'));
    const reports = [];
    for (const index of [2, 0, 1]) {
      const run = await copy('--shard', `${index}/3`, '--checkpoint-dir', dir);
      expect(run.code, run.stderr).toBe(0);
      reports[index] = jsonReport(run);
      expect(reports[index]).toMatchObject({ shard: `${index}/3`, scanned: expected[index], failed: 0 });
      // Each fresh shard clears the run's records: one started after others finished never sees theirs.
      expect(await pair.redis.exists('kmp:copy:completed')).toBe(0);
    }
    // Each shard copied exactly its own keys (every key was missing in Kask), together all of them.
    expect(reports.map((r) => r.copied)).toEqual(expected);
    expect(expected.reduce((a, b) => a + b)).toBe(2000);
    expect(await pair.kask.divergent(pair.redis, keys)).toEqual([]);

    // Shard 1 (the last fresh one) kept its record. Re-run with --resume, the finished shards 2 and 0 only record;
    // the one that completes the set writes the marker.
    const second = await copy('--shard', '2/3', '--checkpoint-dir', dir, '--resume');
    expect(jsonReport(second)).toMatchObject({
      resumed: true,
      scanned: expected[2],
      completion: { recorded: 'shard' },
    });
    expect(await pair.redis.exists('kmp:copy:completed')).toBe(0);
    const last = await copy('--shard', '0/3', '--checkpoint-dir', dir, '--resume');
    expect(jsonReport(last).completion).toMatchObject({ recorded: 'marker' });
    const marker = JSON.parse((await pair.redis.get('kmp:copy:completed'))!);
    expect(marker).toMatchObject({
      keys_scanned: 2000,
      keys_copied: 2000,
      shards: { count: 3, done: [0, 1, 2] },
    });
  });

  it('honours redis.key_prefix: scans prefixed keys only and writes Kask under the keys MediaWiki uses', async () => {
    await pair.redis.set('mw:global:echo:seen:alert:time:1', echoValue('20261101000000'));
    await pair.redis.set('global:echo:seen:alert:time:2', echoValue('20261101000000')); // another prefix's
    await pair.redis.set('mw:kmp:echo:seen:x', '1');
    const config = writeConfig('redis:\n  key_prefix: "mw:"\n');
    const run = await copy('--config', config);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonReport(run)).toMatchObject({ scanned: 2, copied: 1, skipped_by: { own_key: 1 } });
    expect(await pair.kask.get('global:echo:seen:alert:time:1')).toBe('JSON.."20261101000000"');
    expect(await pair.kask.get('global:echo:seen:alert:time:2')).toBeNull();
    expect(await pair.redis.exists('mw:kmp:copy:completed')).toBe(1);
  });

  it('refuses bad flags and unreachable stores with one line on stderr and distinct exit codes', async () => {
    const oneLine = (s: string) => s.trim().split('\n').length === 1;
    for (const args of [
      ['--shard', '2/2'],
      ['--rate', 'fast'],
      ['--since', 'yesterday'],
      ['--resume'],
      ['--all-keys', '--match', 'x:*'],
      ['--no-such-flag'],
      ['--pipeline', '0'],
    ]) {
      const run = await copy(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(oneLine(run.stderr), run.stderr).toBe(true);
    }
    const noRedis = await runCli(['copy', '--redis-url', 'redis://127.0.0.1:1', '--kask-url', pair.kaskUrl]);
    expect(noRedis.code).toBe(3);
    expect(noRedis.stderr.trim()).toMatch(
      /^kask-migration-proxy copy: Redis at redis:\/\/127\.0\.0\.1:1.* unreachable$/,
    );
    const noKask = await runCli([
      'copy',
      '--redis-url',
      pair.redisUrl,
      '--kask-url',
      'http://127.0.0.1:1/echoseen/v1/',
    ]);
    expect(noKask.code).toBe(3);
    expect(oneLine(noKask.stderr)).toBe(true);
    expect(noKask.stderr).toMatch(/Kask at http:\/\/127\.0\.0\.1:1\/echoseen\/v1\/ is unreachable/);
    // Kask endpoints (or proxies before them) that serve only the first of pipelined requests: one then hangs,
    // the other closes the connection (so the second request would only be answered if re-sent elsewhere).
    for (const close of [false, true]) {
      const firstOnly = createServer((socket) => {
        socket.once('data', () => {
          socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
          if (close) socket.end();
        });
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => firstOnly.listen(0, '127.0.0.1', resolve));
      const noPipelining = await runCli([
        'copy',
        '--redis-url',
        pair.redisUrl,
        '--kask-url',
        `http://127.0.0.1:${(firstOnly.address() as AddressInfo).port}/echoseen/v1/`,
        '--pipeline',
        '8',
      ]);
      firstOnly.close();
      expect(noPipelining.code, `close: ${close}`).toBe(2);
      expect(oneLine(noPipelining.stderr), noPipelining.stderr).toBe(true);
      expect(noPipelining.stderr.trim()).toMatch(
        /did not answer two pipelined requests .*: run without --pipeline$/,
      );
    }
    const noUrl = await runCli(['copy', '--kask-url', pair.kaskUrl], { KMP_REDIS_URL: '' });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/no Redis to read/);
  });

  it('refuses to copy once a sidecar has run kask-only (Redis then misses writes Kask has)', async () => {
    const keys = await seedEcho(pair.redis, 20);
    await pair.redis.set(
      'kmp:{fleet}:kask-only-entered',
      '{"entered_at":"2026-11-29T00:00:00Z","instance":"h:1"}',
    );
    try {
      const run = await copy();
      expect(run.code).toBe(2);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain('copy refused: a sidecar has run kask-only');
      expect(await pair.kask.countPresent(keys)).toBe(0);
    } finally {
      await pair.redis.del('kmp:{fleet}:kask-only-entered');
    }
  });

  it('--help documents the exit codes', async () => {
    const run = await runCli(['copy', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/3 +a store \(Redis or Kask\) is unreachable/);
  });
});
