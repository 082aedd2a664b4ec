// The survey's report: tables with bars drawn in the terminal, or one JSON document (`--json`).
import { AGE_BUCKETS, type SurveyResult, TTL_BUCKETS } from './survey.js';
import { VALUE_KINDS } from './value-kinds.js';

const BAR_WIDTH = 40;

export function surveyReportJson(r: SurveyResult): Record<string, unknown> {
  return {
    keys_per_pattern: r.keysPerPattern,
    own_keys: r.ownKeys,
    lock_keys: r.lockKeys,
    data_keys: r.dataKeys,
    examined: r.examined,
    sampled: r.sampled,
    vanished: r.vanished,
    value_kinds: r.kinds,
    ttl: r.ttl,
    echo_timestamp_age: r.age,
    older_integer_rule: {
      echo_timestamp_int: r.kinds.echo_timestamp_int,
      serialized_int: r.kinds.serialized_int,
    },
    examples: r.examples,
    copyable_keys: r.copyableKeys,
    rate_keys_per_second: r.ratePerSecond,
    implied_copy_seconds: Math.round(r.impliedCopySeconds),
  };
}

export function surveyReportText(r: SurveyResult): string {
  const out: string[] = [];
  out.push('Keys per pattern');
  for (const [p, n] of Object.entries(r.keysPerPattern)) out.push(`  ${p.padEnd(36)} ${n}`);
  out.push(
    `  (of which the sidecar's own kmp: keys ${r.ownKeys}, lock keys ${r.lockKeys}; data keys ${r.dataKeys})`,
  );
  out.push('');
  out.push(
    r.sampled
      ? `Values: a random sample of ${r.examined} of ${r.dataKeys} data keys`
      : `Values: all ${r.examined} data keys${r.vanished > 0 ? ` (${r.vanished} gone before they were read)` : ''}`,
  );
  out.push(...bars(VALUE_KINDS.map((k) => [k, r.kinds[k]])));
  if (r.kinds.echo_timestamp_int + r.kinds.serialized_int > 0)
    out.push(
      `  under older integer rules: ${r.kinds.echo_timestamp_int} seen-times stored as bare digits (an int to BagOStuff), ${r.kinds.serialized_int} ints serialized as i:N;`,
    );
  out.push('');
  out.push('TTL remaining');
  out.push(...bars(TTL_BUCKETS.map((b) => [b, r.ttl[b]])));
  out.push('');
  out.push("Echo seen-time age (how far back users' last visits go)");
  out.push(...bars(AGE_BUCKETS.map((b) => [b, r.age[b]])));
  for (const [kind, keys] of Object.entries(r.examples))
    if (keys.length > 0) out.push(`  example ${kind} keys: ${keys.join(' ')}`);
  out.push('');
  out.push(
    `Copy: about ${r.copyableKeys} keys to copy; at ${r.ratePerSecond} keys/s that is ${duration(r.impliedCopySeconds)}`,
  );
  return `${out.join('\n')}\n`;
}

function bars(rows: [string, number][]): string[] {
  const max = Math.max(1, ...rows.map(([, n]) => n));
  const total = rows.reduce((a, [, n]) => a + n, 0) || 1;
  return rows.map(([label, n]) => {
    const bar = '█'.repeat(Math.round((n / max) * BAR_WIDTH));
    const pct = ((100 * n) / total).toFixed(1).padStart(5);
    return `  ${label.padEnd(20)} ${String(n).padStart(10)} ${pct}% ${bar}`;
  });
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
