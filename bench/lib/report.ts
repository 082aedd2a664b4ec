// The bench's output: one table of max-throughput rows, one of fixed-rate rows, and the targets.

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');
export const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');
export const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '–');

export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One max-throughput measurement (wrk) with the proxying process's CPU. */
export interface ThroughputRun {
  rps: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerReq: number;
  errors: number;
  /** Other processes' CPU during the run, % of one core. */
  otherPct: number;
}

/** One fixed-rate measurement, paired with the direct emulator. */
export interface RateRun {
  addedP50Us: number;
  addedP99Us: number;
  cpuUsPerReq: number;
  unanswered: number;
  sendLagP99Us: number;
  otherPct: number;
}

export interface Row<T> {
  label: string;
  node: string;
  runs: T[];
}

export function throughputTable(rows: Row<ThroughputRun>[], nginx: Row<ThroughputRun>): string {
  const med = (r: Row<ThroughputRun>, f: keyof ThroughputRun) => median(r.runs.map((x) => x[f]));
  const nginxCpu = med(nginx, 'cpuUsPerReq');
  const nginxRps = med(nginx, 'rps');
  return table(
    [
      'target',
      'node',
      'req/s',
      'p50 ms',
      'p99 ms',
      'CPU µs/req',
      'CPU ×nginx',
      'req/s ×nginx',
      'errors',
      'others %',
    ],
    rows.map((r) => [
      r.label,
      r.node,
      f0(med(r, 'rps')),
      ms(med(r, 'p50Us')),
      ms(med(r, 'p99Us')),
      f0(med(r, 'cpuUsPerReq')),
      f2(med(r, 'cpuUsPerReq') / nginxCpu),
      f2(med(r, 'rps') / nginxRps),
      f0(Math.max(...r.runs.map((x) => x.errors))),
      f0(Math.max(...r.runs.map((x) => x.otherPct))),
    ]),
  );
}

export function rateTable(rows: Row<RateRun>[]): string {
  const med = (r: Row<RateRun>, f: keyof RateRun) => median(r.runs.map((x) => x[f]));
  return table(
    [
      'target',
      'node',
      'added p50 ms',
      'added p99 ms',
      'CPU µs/req',
      'unanswered',
      'gen lag p99 ms',
      'others %',
    ],
    rows.map((r) => [
      r.label,
      r.node,
      ms(med(r, 'addedP50Us')),
      ms(med(r, 'addedP99Us')),
      f0(med(r, 'cpuUsPerReq')),
      f0(Math.max(...r.runs.map((x) => x.unanswered))),
      ms(med(r, 'sendLagP99Us')),
      f0(Math.max(...r.runs.map((x) => x.otherPct))),
    ]),
  );
}

export interface TargetCheck {
  what: string;
  value: number;
  limit: number;
  /** 'max': value must be ≤ limit (< for latency); 'min': value must be ≥ limit. */
  kind: 'max' | 'min';
}

export function targetLines(checks: TargetCheck[]): string {
  return checks
    .map((c) => {
      const met = c.kind === 'max' ? c.value <= c.limit : c.value >= c.limit;
      const sign = c.kind === 'max' ? '≤' : '≥';
      return `  ${Number.isFinite(c.value) ? (met ? 'met    ' : 'MISSED ') : 'n/a    '} ${c.what}: ${f2(c.value)} (target ${sign} ${c.limit})`;
    })
    .join('\n');
}
