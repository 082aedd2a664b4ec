// The queries of the committed Grafana dashboard, as Grafana would send them once its variables are filled in.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILE = fileURLToPath(
  new URL('../../deploy/grafana/kask-migration-proxy.json', import.meta.url),
);

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

interface PanelJson {
  type: string;
  title: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: PanelJson[];
}

/** Every target of every panel (rows' collapsed panels included), in dashboard order. */
export function dashboardQueries(file = DASHBOARD_FILE): PanelQuery[] {
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels: PanelJson[] };
  const queries: PanelQuery[] = [];
  const visit = (panels: PanelJson[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? [])
        queries.push({ panel: panel.title, refId: target.refId ?? '?', expr: target.expr ?? '' });
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  return queries;
}

/** The dashboard's variables and Grafana's built-in interval, as the test's Prometheus should see them. */
export interface VariableValues {
  job: string;
  /** A regex, as Grafana sends "All" (the variable's allValue). */
  instance: string;
  rateInterval: string;
}

/** Replaces `$name` / `${name}` the way Grafana interpolates a Prometheus query; throws on an unknown variable. */
export function interpolate(expr: string, values: VariableValues): string {
  const table: Record<string, string> = {
    job: values.job,
    instance: values.instance,
    __rate_interval: values.rateInterval,
  };
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = table[name];
    if (value === undefined) throw new Error(`query uses an unknown variable $${name}: ${expr}`);
    return value;
  });
}
