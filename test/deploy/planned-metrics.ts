// Metrics the dashboard and alerts may use before the code exports them (none today). Queries that name one are only
// checked for valid PromQL, and must still return no data: when one starts to exist, the real-Prometheus suite fails
// until it is taken off this list.
export const PLANNED_METRICS: readonly string[] = [];

/** Does a PromQL expression name one of the planned metrics? */
export function usesPlannedMetric(expr: string): string | undefined {
  return PLANNED_METRICS.find((name) => new RegExp(`\\b${name}\\b`).test(expr));
}
