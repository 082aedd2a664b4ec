// The committed dashboard JSON is exactly what deploy/grafana/dashboard.ts renders, and every query in it is
// complete: known variables only, a data source variable on every panel, unique refIds per panel.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDashboard } from '../../deploy/grafana/dashboard.js';
import { DASHBOARD_FILE, dashboardQueries, interpolate } from './dashboard-queries.js';

const VALUES = { job: 'kask-migration-proxy', instance: '.*', rateInterval: '1m' };

describe('Grafana dashboard', () => {
  it('the committed JSON is up to date (run `npm run dashboards` after changing dashboard.ts)', () => {
    expect(readFileSync(DASHBOARD_FILE, 'utf8')).toBe(renderDashboard());
  });

  it('every panel query uses only the dashboard variables, and refIds are unique per panel', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    for (const q of queries) {
      expect(q.expr, q.panel).not.toBe('');
      expect(() => interpolate(q.expr, VALUES), q.panel).not.toThrow();
    }
    const ids = queries.map((q) => `${q.panel}/${q.refId}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every panel reads the dashboard data source variable, and every variable queries through it', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
      panels: { type: string; datasource?: { uid: string } }[];
      templating: { list: { name: string; type: string; datasource?: { uid: string } }[] };
    };
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row'))
      expect(panel.datasource?.uid).toBe('$datasource');
    const names = dashboard.templating.list.map((v) => v.name);
    expect(names).toEqual(['datasource', 'job', 'instance']);
    for (const v of dashboard.templating.list.filter((v) => v.type === 'query'))
      expect(v.datasource?.uid).toBe('$datasource');
  });

  it('interpolate refuses a variable the dashboard does not define', () => {
    expect(() => interpolate('rate(x{a="$nope"}[1m])', VALUES)).toThrow(/unknown variable/);
    expect(interpolate('rate(x{job=~"$job"}[$__rate_interval])', VALUES)).toBe(
      'rate(x{job=~"kask-migration-proxy"}[1m])',
    );
  });
});
