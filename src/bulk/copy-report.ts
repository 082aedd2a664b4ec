// The copy's final report: human text, or one JSON document (`--json`). Keys appear only as examples, never values.
import { type CopyResult, KASK_TRIES_PER_KEY } from './copier.js';
import { SKIP_REASONS } from './counters.js';

export function copyReportJson(r: CopyResult): Record<string, unknown> {
  return {
    run_id: r.runId,
    shard: r.shard,
    dry_run: r.dryRun,
    resumed: r.resumed,
    finished: r.finished,
    started_at: r.startedAt,
    elapsed_seconds: Math.round(r.elapsedMs / 100) / 10,
    keys_per_second: Math.round(r.keysPerSecond),
    estimated_keys: r.estimatedKeys,
    scanned: r.counters.scanned,
    copied: r.counters.copied,
    skipped: r.counters.skipped,
    failed: r.counters.failed,
    failed_calls: r.failedCalls,
    skipped_by: r.counters.skippedBy,
    examples: r.examples,
    completion:
      r.completion.kind === 'marker'
        ? { recorded: 'marker', marker: r.completion.marker }
        : r.completion.kind === 'shard_recorded'
          ? { recorded: 'shard', waiting_for: 'other shards' }
          : { recorded: 'none', reason: r.completion.reason },
  };
}

export function copyReportText(r: CopyResult): string {
  const c = r.counters;
  const lines = [
    `copy ${r.dryRun ? '(dry run: nothing written) ' : ''}shard ${r.shard}, run ${r.runId}${r.resumed ? ' (resumed)' : ''}`,
    `  scanned    ${c.scanned}`,
    `  ${r.dryRun ? 'would copy' : 'copied    '} ${c.copied}`,
    `  skipped    ${c.skipped}${skipDetail(r)}`,
    `  failed     ${c.failed}${c.failed > 0 ? ' (queued for the sidecars to repair)' : ''}`,
    `  time       ${(r.elapsedMs / 1000).toFixed(1)} s this run, ${Math.round(r.keysPerSecond)} keys/s`,
  ];
  const calls = Object.entries(r.failedCalls);
  if (calls.length > 0)
    lines.push(
      `  failed calls ${calls.map(([what, n]) => `${what} ×${n}`).join(', ')} (a key counts failed only after ${KASK_TRIES_PER_KEY} tries)`,
    );
  for (const [kind, keys] of Object.entries(r.examples))
    if (keys.length > 0) lines.push(`  example ${kind} keys: ${keys.join(' ')}`);
  if (r.completion.kind === 'marker')
    lines.push(
      '  completion: recorded; every shard is done (the phase guard will let phase set kask-primary through)',
    );
  else if (r.completion.kind === 'shard_recorded')
    lines.push('  completion: this shard recorded; the marker is written when every shard is done');
  else lines.push(`  completion: not recorded (${r.completion.reason})`);
  return `${lines.join('\n')}\n`;
}

function skipDetail(r: CopyResult): string {
  const parts = SKIP_REASONS.filter((k) => r.counters.skippedBy[k] > 0).map(
    (k) => `${k} ${r.counters.skippedBy[k]}`,
  );
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
