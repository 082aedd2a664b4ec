// The copy's final report says why keys failed or were tried again, in both forms, and nothing when nothing failed.
import { expect, it } from 'vitest';
import type { CopyResult } from '../../src/bulk/copier.js';
import { copyReportJson, copyReportText } from '../../src/bulk/copy-report.js';
import { emptyCounters } from '../../src/bulk/counters.js';

function result(failedCalls: Record<string, number>): CopyResult {
  return {
    runId: 'r1',
    shard: '0/1',
    dryRun: false,
    counters: { ...emptyCounters(), scanned: 10, copied: 10 },
    estimatedKeys: 10,
    elapsedMs: 1000,
    keysPerSecond: 10,
    etaSeconds: 0,
    kask: { state: 'healthy', concurrency: 32 },
    failedCalls,
    finished: true,
    resumed: false,
    examples: {},
    completion: { kind: 'not_recorded', reason: 'test' },
    startedAt: '2026-11-30T00:00:00.000Z',
  };
}

it('counts failed calls by operation and error code, as JSON and as one text line', () => {
  const r = result({ 'kask.backfill KASK_TIMEOUT': 2, 'kask.get KASK_STATUS': 1 });
  expect(copyReportJson(r).failed_calls).toEqual({
    'kask.backfill KASK_TIMEOUT': 2,
    'kask.get KASK_STATUS': 1,
  });
  expect(copyReportText(r)).toContain(
    '  failed calls kask.backfill KASK_TIMEOUT ×2, kask.get KASK_STATUS ×1 (a key counts failed only after 3 tries)\n',
  );
});

it('says nothing of failed calls when there were none', () => {
  expect(copyReportJson(result({})).failed_calls).toEqual({});
  expect(copyReportText(result({}))).not.toContain('failed calls');
});
