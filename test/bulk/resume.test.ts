// kill -9 in the middle of a copy, then --resume: every key ends up copied, and the work done twice is at most the
// batch that was in flight (the checkpoint moves past a batch only once all its keys are handled).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/bulk/checkpoint.js';
import { jsonReport, runCli } from '../support/cli-run.js';
import { eventually } from '../support/wait.js';
import { type Pair, seedEcho, startPair } from './support.js';

const BIN = fileURLToPath(new URL('../../bin/kask-migration-proxy.js', import.meta.url));
const KEYS = 12_000;
const BATCH = 1000; // the copier's SCAN COUNT

let pair: Pair;
beforeAll(async () => {
  pair = await startPair();
});
afterAll(async () => {
  await pair?.stop();
});

function readCheckpoint(file: string): Checkpoint | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch {
    return null;
  }
}

it('resumes after kill -9 with no key skipped and at most one batch handled twice', async () => {
  const keys = await seedEcho(pair.redis, KEYS);
  const dir = mkdtempSync(join(tmpdir(), 'kmp-resume-'));
  const file = join(dir, 'copy-0of1.json');
  const args = ['copy', '--redis-url', pair.redisUrl, '--kask-url', pair.kaskUrl, '--checkpoint-dir', dir];
  // Slow enough (about 6 s for every key) to be killed in the middle.
  const first = spawn(process.execPath, [BIN, ...args, '--rate', '2000'], { stdio: 'ignore' });
  await eventually(
    () => readCheckpoint(file),
    (c) => c !== null && c.counters.scanned >= 3000,
    60_000,
    50,
  );
  const exited = once(first, 'exit');
  first.kill('SIGKILL');
  await exited;
  const atKill = readCheckpoint(file)!;
  expect(atKill.finished).toBe(false);
  expect(atKill.counters.scanned).toBeGreaterThanOrEqual(3000);
  expect(atKill.counters.scanned).toBeLessThan(KEYS);
  const inKaskAtKill = await pair.kask.countPresent(keys);
  // Kask holds what the checkpoint counts, plus at most the batch in flight.
  expect(inKaskAtKill - atKill.counters.copied).toBeGreaterThanOrEqual(0);
  expect(inKaskAtKill - atKill.counters.copied).toBeLessThanOrEqual(BATCH);

  const resumed = await runCli([...args, '--resume', '--json']);
  expect(resumed.code, resumed.stderr).toBe(0);
  const report = jsonReport(resumed);
  expect(report).toMatchObject({ resumed: true, finished: true, failed: 0, run_id: atKill.run_id });
  // Every key scanned once, plus at most the batch that was in flight at the kill.
  const scanned = report.scanned as number;
  expect(scanned).toBeGreaterThanOrEqual(KEYS);
  expect(scanned - KEYS).toBeLessThanOrEqual(BATCH);
  // Keys the first run had copied are found in Kask and skipped, never written again.
  expect(report.copied as number).toBe(atKill.counters.copied + (KEYS - inKaskAtKill));
  expect(await pair.kask.divergent(pair.redis, keys)).toEqual([]);
  expect(readCheckpoint(file)!.finished).toBe(true);
  expect(await pair.redis.exists('kmp:copy:completed')).toBe(1);
}, 120_000);

it('stops after the batch in flight on SIGTERM, with a checkpoint that --resume continues', async () => {
  const keys: string[] = [];
  for (let i = 0; i < 8000; i += 1000) {
    const chunk = Array.from({ length: 1000 }, (_, j) => `sigterm:echo:seen:alert:time:${i + j}`);
    await Promise.all(chunk.map((k) => pair.redis.set(k, 's:14:"20261101000000";')));
    keys.push(...chunk);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kmp-sigterm-'));
  const file = join(dir, 'copy-0of1.json');
  const args = ['copy', '--redis-url', pair.redisUrl, '--kask-url', pair.kaskUrl, '--match', 'sigterm:*'];
  const first = spawn(process.execPath, [BIN, ...args, '--checkpoint-dir', dir, '--rate', '2000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  first.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  await eventually(
    () => readCheckpoint(file)?.counters.scanned ?? 0,
    (scanned) => scanned >= 2000,
    60_000,
    50,
  );
  const exited = once(first, 'exit');
  first.kill('SIGTERM');
  const [code] = (await exited) as [number];
  expect(code).toBe(1);
  expect(stderr).toContain('stopped by a signal; continue with --resume');
  const saved = readCheckpoint(file)!;
  expect(saved.finished).toBe(false);
  // A graceful stop loses nothing: Kask holds exactly what the checkpoint counts as copied.
  expect(await pair.kask.countPresent(keys)).toBe(saved.counters.copied);
  const resumed = await runCli([...args, '--checkpoint-dir', dir, '--resume', '--json']);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(jsonReport(resumed)).toMatchObject({ scanned: 8000, copied: 8000, skipped: 0, failed: 0 });
  expect(await pair.kask.countPresent(keys)).toBe(8000);
}, 120_000);
