// The sidecar's Grafana dashboard as code. `npm run dashboards` writes it to kask-migration-proxy.json (the file
// Grafana imports); a test fails when that file is not what this module renders, and another runs every query here
// against a real Prometheus scraping real sidecars.
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as stateTimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_UID = 'kask-migration-proxy';

/** The data source every panel reads: the dashboard's `datasource` variable. */
const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '$datasource' };

/** Every sidecar series is narrowed to the chosen scrape job and instances. */
const SIDECAR = 'job=~"$job",instance=~"$instance"';
const RATE = '$__rate_interval';

function query(expr: string, legend: string, refId = 'A'): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).refId(refId);
}

function graph(title: string, description: string, unit: string, ...targets: DataqueryBuilder[]) {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(8)
    .height(8)
    .fillOpacity(10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    );
  for (const target of targets) panel.withTarget(target);
  return panel;
}

function single(title: string, description: string, unit: string, target: DataqueryBuilder) {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(6)
    .height(4)
    .graphMode(common.BigValueGraphMode.Area)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .withTarget(target);
}

/** Percentiles of one histogram, one query (refId A, B, C…) per quantile, grouped by `by` besides `le`. */
function percentiles(histogram: string, selector: string, by: string[], legendPrefix: string) {
  const group = ['le', ...by].join(', ');
  return [0.5, 0.9, 0.99].map((q, i) =>
    query(
      `histogram_quantile(${q}, sum by (${group}) (rate(${histogram}_bucket{${selector}}[${RATE}])))`,
      `${legendPrefix}p${Math.round(q * 100)}`,
      String.fromCharCode(65 + i),
    ),
  );
}

/** Fallback hit rate: of the reads Kask missed, the share Redis could still answer (the migration's progress). */
const FALLBACK_HIT_RATE =
  `sum(rate(kmp_reads_total{${SIDECAR},source="redis_fallback"}[${RATE}]))\n/\n` +
  `sum(rate(kmp_reads_total{${SIDECAR},source=~"redis_fallback|miss"}[${RATE}]))`;

function overviewRow(d: DashboardBuilder): void {
  d.withRow(new RowBuilder('Overview'))
    .withPanel(
      single(
        'Sidecars up',
        'Sidecars Prometheus scrapes successfully. Fewer than the fleet: see the KaskMigrationProxyDown alert.',
        'none',
        query(`sum(up{${SIDECAR}})`, 'up'),
      ),
    )
    .withPanel(
      single(
        'Phases now',
        'How many sidecars run each phase. Only adjacent phases may coexist during a rollout.',
        'none',
        query(`count by (phase) (kmp_phase{${SIDECAR}} == 1)`, '{{phase}}'),
      ).textMode(common.BigValueTextMode.ValueAndName),
    )
    .withPanel(
      single(
        'Fallback hit rate now',
        'Of the reads Kask missed, the share Redis could still answer. Falls towards 0 as the copy and backfills ' +
          'fill Kask; near 0 (with the copy verified) means Redis no longer contributes.',
        'percentunit',
        query(FALLBACK_HIT_RATE, 'fallback hit rate'),
      ),
    )
    .withPanel(
      single(
        'Repair queue now',
        'Keys waiting for the repairer (shared by the fleet). Must be 0 before kask-only.',
        'none',
        query(`max(kmp_repair_queue_depth{${SIDECAR}})`, 'keys'),
      ).thresholds(
        new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
          { value: null, color: 'green' },
          { value: 1, color: 'orange' },
        ]),
      ),
    );
}

function requestsRow(d: DashboardBuilder): void {
  d.withRow(new RowBuilder('Requests from MediaWiki'))
    .withPanel(
      graph(
        'Requests by status',
        'Answers under the base URI by HTTP status. 404 is a normal miss; 5xx is a failure MediaWiki sees.',
        'reqps',
        query(`sum by (code) (rate(http_requests_total{${SIDECAR}}[${RATE}]))`, '{{code}}'),
      ),
    )
    .withPanel(
      graph(
        'Server errors by method',
        '5xx answers (Kask 500 problems): a write whose Redis half failed, or a backend down.',
        'reqps',
        query(
          `sum by (method, code) (rate(http_requests_total{${SIDECAR},code=~"5.."}[${RATE}]))`,
          '{{method}} {{code}}',
        ),
      ),
    )
    .withPanel(
      graph(
        'Answer latency',
        'Time to answer MediaWiki, all requests (p50, p90, p99). MediaWiki gives up after 3 s.',
        's',
        ...percentiles('http_request_duration_seconds', SIDECAR, [], ''),
      ),
    );
}

function backendsRow(d: DashboardBuilder): void {
  d.withRow(new RowBuilder('Backends'))
    .withPanel(
      graph(
        'Kask latency by operation',
        'Calls from the sidecar to Kask (readiness probes included), p50/p90/p99 per operation.',
        's',
        ...percentiles(
          'kmp_backend_request_duration_seconds',
          `${SIDECAR},backend="kask"`,
          ['op'],
          '{{op}} ',
        ),
      ),
    )
    .withPanel(
      graph(
        'Redis latency by operation',
        'Calls from the sidecar to Redis, p50/p90/p99 per operation.',
        's',
        ...percentiles(
          'kmp_backend_request_duration_seconds',
          `${SIDECAR},backend="redis"`,
          ['op'],
          '{{op}} ',
        ),
      ),
    )
    .withPanel(
      graph(
        'Backend call failures',
        'Kask and Redis calls that failed or timed out (calls refused by an open breaker are not calls).',
        'ops',
        query(
          `sum by (backend, op, outcome) (rate(kmp_backend_request_duration_seconds_count{${SIDECAR},outcome!="ok"}[${RATE}]))`,
          '{{backend}} {{op}} {{outcome}}',
        ),
      ),
    )
    .withPanel(
      new stateTimeline.PanelBuilder()
        .title('Circuit breakers')
        .description(
          'Per sidecar and backend: closed, half-open (one trial call) or open (calls fail at once).',
        )
        .datasource(DATASOURCE)
        .span(24)
        .height(6)
        .mappings([
          {
            type: MappingType.ValueToText,
            options: {
              '0': { text: 'closed', color: 'green', index: 0 },
              '1': { text: 'half-open', color: 'orange', index: 1 },
              '2': { text: 'open', color: 'red', index: 2 },
            },
          },
        ])
        .withTarget(
          query(`max by (instance, backend) (kmp_breaker_state{${SIDECAR}})`, '{{instance}} {{backend}}'),
        ),
    );
}

function migrationRow(d: DashboardBuilder): void {
  d.withRow(new RowBuilder('Migration'))
    .withPanel(
      graph(
        'Fallback hit rate',
        'Of the reads Kask missed, the share Redis answered (migration phase). Watch it fall; kask-only is safe ' +
          'when it stays near 0 after the copy and verify.',
        'percentunit',
        query(FALLBACK_HIT_RATE, 'fallback hit rate'),
      ).min(0),
    )
    .withPanel(
      graph(
        'Reads by source',
        'Where GET answers came from: kask (hit), redis_fallback (Kask miss, Redis hit), miss (neither), ' +
          'redis_failover (Kask failing), redis (dual-write).',
        'ops',
        query(`sum by (source) (rate(kmp_reads_total{${SIDECAR}}[${RATE}]))`, '{{source}}'),
      ),
    )
    .withPanel(
      graph(
        'Backfills by outcome',
        'Lazy copies of a Redis value into Kask after a fallback hit. failed keys go to the repair queue.',
        'ops',
        query(`sum by (outcome) (rate(kmp_backfills_total{${SIDECAR}}[${RATE}]))`, '{{outcome}}'),
      ),
    )
    .withPanel(
      graph(
        'Shadow comparisons (dual-write)',
        'A sample of dual-write reads compared with Kask: mismatch and kask_missing fall once the copy has run.',
        'ops',
        query(`sum by (result) (rate(kmp_shadow_compare_total{${SIDECAR}}[${RATE}]))`, '{{result}}'),
      ),
    )
    .withPanel(
      graph(
        'Conversion failures',
        'Values that cannot be converted faithfully between the Redis and Kask formats (never written). ' +
          'Anything here needs a look at the logged keys.',
        'ops',
        query(
          `sum by (direction, reason) (rate(kmp_conversion_failures_total{${SIDECAR}}[${RATE}]))`,
          '{{direction}} {{reason}}',
        ),
      ),
    )
    .withPanel(
      graph(
        'Sidecars per phase',
        'The rollout over time: dual-write → migration → kask-primary → redis-shadow → kask-only.',
        'none',
        query(`count by (phase) (kmp_phase{${SIDECAR}} == 1)`, '{{phase}}'),
      ),
    );
}

function consistencyRow(d: DashboardBuilder): void {
  d.withRow(new RowBuilder('Consistency and repair'))
    .withPanel(
      graph(
        'Dual-write failures',
        'One store’s half of a write or delete failed. Kask failures are queued for repair.',
        'ops',
        query(
          `sum by (backend, op) (rate(kmp_dual_write_failures_total{${SIDECAR}}[${RATE}]))`,
          '{{backend}} {{op}}',
        ),
      ),
    )
    .withPanel(
      graph(
        'Convergence',
        'Kask re-aligned to Redis after a concurrent writer (repaired), or given up (gave_up: queued for repair).',
        'ops',
        query(`sum by (outcome) (rate(kmp_convergence_total{${SIDECAR}}[${RATE}]))`, '{{outcome}}'),
      ),
    )
    .withPanel(
      graph(
        'Repairs by outcome',
        'Repair-queue events: queued, repaired (Kask re-driven from Redis), retried, lost (not kept: verify by hand).',
        'ops',
        query(`sum by (outcome) (rate(kmp_repairs_total{${SIDECAR}}[${RATE}]))`, '{{outcome}}'),
      ),
    )
    .withPanel(
      graph(
        'Repair queue depth',
        'Keys waiting in the durable repair queue (one queue for the fleet, so the highest report counts).',
        'none',
        query(`max(kmp_repair_queue_depth{${SIDECAR}})`, 'keys'),
      ),
    )
    .withPanel(
      graph(
        'Repairer backend failures',
        'The repairer’s own failed Kask and Redis calls (apart from the request path’s).',
        'ops',
        query(`sum by (backend) (rate(kmp_repair_failures_total{${SIDECAR}}[${RATE}]))`, '{{backend}}'),
      ),
    )
    .withPanel(
      graph(
        'Redis writable',
        '1 when the sidecar’s Redis accepts writes; 0 when it points at a read-only replica (every write fails).',
        'none',
        query(`min by (instance) (kmp_redis_writable{${SIDECAR}})`, '{{instance}}'),
      ).min(0),
    );
}

function copyRow(d: DashboardBuilder): void {
  // The copier is a separate job (one pod per shard), so its series are not narrowed to the sidecars' job.
  d.withRow(new RowBuilder('Bulk copy'))
    .withPanel(
      graph(
        'Copy progress by shard',
        'Keys scanned over the shard’s estimate (from the copier’s --metrics-listen).',
        'percentunit',
        query(
          'sum by (shard) (kmp_copy_keys_total{outcome="scanned"}) / sum by (shard) (kmp_copy_estimated_keys)',
          '{{shard}}',
        ),
      )
        .min(0)
        .max(1),
    )
    .withPanel(
      graph(
        'Copy rate by outcome',
        'Keys per second: scanned, copied, skipped (Kask already current, or a kmp: key), failed.',
        'ops',
        query(`sum by (outcome) (rate(kmp_copy_keys_total[${RATE}]))`, '{{outcome}}'),
      ),
    )
    .withPanel(
      graph(
        'Shards done',
        'Shards that finished, of the shards reporting.',
        'none',
        query('sum(kmp_copy_done)', 'done'),
        query('count(kmp_copy_done)', 'shards', 'B'),
      ),
    );
}

function variables(d: DashboardBuilder): void {
  d.withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .datasource(DATASOURCE)
        .query('label_values(kmp_build_info, job)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Sidecar')
        .datasource(DATASOURCE)
        .query('label_values(kmp_build_info{job=~"$job"}, instance)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .hide(VariableHide.DontHide),
    );
}

/** The dashboard, as Grafana's JSON model. */
export function buildDashboard() {
  const d = new DashboardBuilder('kask-migration-proxy')
    .uid(DASHBOARD_UID)
    .description(
      'The Echo seen-time migration from Redis to Kask, through the kask-migration-proxy sidecars.',
    )
    .tags(['kask', 'echo', 'migration'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('utc');
  variables(d);
  overviewRow(d);
  requestsRow(d);
  backendsRow(d);
  migrationRow(d);
  consistencyRow(d);
  copyRow(d);
  return d.build();
}

/** The committed file's exact text. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}
