// The alert rules pass `promtool check rules` and their unit tests (`promtool test rules`), and every metric the
// rules and the dashboard name is one the sidecar exports (or one of the planned ones, listed), so a renamed metric
// cannot silently blank a panel or mute an alert.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CopyMetrics } from '../../src/bulk/copy-metrics.js';
import { Metrics } from '../../src/ops/metrics.js';
import { dashboardQueries } from './dashboard-queries.js';
import { PLANNED_METRICS } from './planned-metrics.js';
import { hasTool } from './prometheus-server.js';

const ALERTS_FILE = fileURLToPath(new URL('../../deploy/prometheus/alerts.yaml', import.meta.url));
const ALERT_TESTS_FILE = fileURLToPath(new URL('../../deploy/prometheus/alerts.test.yaml', import.meta.url));
const OBSERVABILITY_DOC = fileURLToPath(new URL('../../docs/observability.md', import.meta.url));
/** Series that come from Prometheus itself or from kube-state-metrics, not from the sidecar. */
const EXTERNAL_METRICS = ['up', 'kube_pod_container_status_ready'];

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

/** The metric names a PromQL expression reads (identifiers that are followed by a selector or range). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  return [...withoutStrings.matchAll(/\b([a-z_][a-z0-9_]*)\s*[{[]/g)].map((m) => m[1]!);
}

/** What the sidecar and the bulk copier export, histograms with their _bucket/_count/_sum series. */
function exportedNames(): Set<string> {
  const names = new Set<string>();
  const registries = [new Metrics({ processMetrics: false }).registry, new CopyMetrics('0/1').registry];
  for (const m of registries.flatMap((r) => r.getMetricsAsArray())) {
    const { name, type } = m as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(name + s);
  }
  return names;
}

const promtool = hasTool('promtool');
if (!promtool) console.warn('skipping promtool checks: no `promtool` binary (apt-get install prometheus)');

describe('Prometheus alert rules', () => {
  it.skipIf(!promtool)('pass `promtool check rules`', () => {
    const run = spawnSync('promtool', ['check', 'rules', ALERTS_FILE], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it.skipIf(!promtool)(
    'pass their unit tests (`promtool test rules alerts.test.yaml`)',
    () => {
      const run = spawnSync('promtool', ['test', 'rules', ALERT_TESTS_FILE], {
        cwd: dirname(ALERT_TESTS_FILE),
        encoding: 'utf8',
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('SUCCESS');
    },
    120_000,
  ); // three simulated days of series, evaluated every simulated minute: ~20 s of CPU

  it('every alert has a severity, a summary and a description, is unit-tested and documented', () => {
    const tests = readFileSync(ALERT_TESTS_FILE, 'utf8');
    const doc = readFileSync(OBSERVABILITY_DOC, 'utf8');
    for (const rule of rules) {
      expect(['page', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(tests, `${rule.alert} has no promtool test`).toContain(`alertname: ${rule.alert}\n`);
      expect(doc, `${rule.alert} is not in docs/observability.md`).toContain(`\`${rule.alert}\``);
    }
  });

  it('name only metrics the sidecar exports (or planned ones), as do the dashboard queries', () => {
    const known = new Set([...exportedNames(), ...PLANNED_METRICS, ...EXTERNAL_METRICS]);
    const exprs = [...rules.map((r) => r.expr), ...dashboardQueries().map((q) => q.expr)];
    const unknown = exprs.flatMap(metricNames).filter((name) => !known.has(name));
    expect(unknown).toEqual([]);
    // The extraction itself finds names (it is not vacuously empty).
    expect(metricNames(rules[0]!.expr)).toEqual(['up']);
    expect(metricNames('sum by (le) (rate(x_bucket{a="b{"}[5m]))')).toEqual(['x_bucket']);
  });
});
