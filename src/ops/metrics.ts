// Every Prometheus metric the sidecar exports, declared once, labelled only from small fixed sets (never keys or values).
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { PHASE_NAMES, type PhaseName } from '../config/schema.js';
import { BUILD } from './build-info.js';
import { type HistogramSeries, SeriesHistogram } from './series-histogram.js';

const KNOWN_METHODS = new Set(['GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'PATCH', 'OPTIONS']);

/** Kask labels the raw method (unbounded); we fold anything unusual into `other` to keep cardinality fixed. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}

/** A counter series counted in a plain number between collections. */
interface PendingCount {
  labels: Record<string, string>;
  pending: number;
}

export class Metrics {
  readonly registry = new Registry();

  /**
   * Same name, buckets and labels as Kask's own, plus `phase`, so Kask dashboards keep working. Counted per request
   * in plain numbers (recordRequest) and added to the counter when it is collected, at each scrape.
   */
  readonly requests: Counter<'code' | 'method' | 'phase'> = new Counter({
    name: 'http_requests_total',
    help: 'Requests under the base URI, by method, status code and phase.',
    labelNames: ['code', 'method', 'phase'] as const,
    registers: [this.registry],
    collect: (): void => this.#flush(this.#requestSeries.values(), this.requests),
  });
  readonly requestDuration = new SeriesHistogram(
    'http_request_duration_seconds',
    'Time to answer requests under the base URI, by method and status code.',
    ['code', 'method'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    this.registry,
  );
  readonly backendDuration = new SeriesHistogram(
    'kmp_backend_request_duration_seconds',
    'Latency of calls to Kask and Redis, by backend, operation and outcome.',
    ['backend', 'op', 'outcome'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    this.registry,
  );
  /** Counted per answer in plain numbers (recordRead) and added to the counter at each scrape, like `requests`. */
  readonly reads: Counter<'source'> = new Counter({
    name: 'kmp_reads_total',
    help: 'GET answers by source: kask, redis_fallback (Kask miss served from Redis), miss, redis_failover, redis.',
    labelNames: ['source'] as const,
    registers: [this.registry],
    collect: (): void => this.#flush(this.#readSeries.values(), this.reads),
  });
  readonly backfills = new Counter({
    name: 'kmp_backfills_total',
    help: 'Lazy backfills of Kask from Redis, by outcome: written, raced_repaired, skipped, failed.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly dualWriteFailures = new Counter({
    name: 'kmp_dual_write_failures_total',
    help: 'Writes or deletes that failed on one backend during a dual phase.',
    labelNames: ['backend', 'op'] as const,
    registers: [this.registry],
  });
  readonly conversionFailures = new Counter({
    name: 'kmp_conversion_failures_total',
    help: 'Values that could not be converted faithfully between Redis and Kask formats (and were not written).',
    labelNames: ['direction', 'reason'] as const,
    registers: [this.registry],
  });
  readonly convergence = new Counter({
    name: 'kmp_convergence_total',
    help: 'Times a dual-phase mutation found Redis changed by another writer and re-aligned Kask (or gave up).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly repairQueueDepth = new Gauge({
    name: 'kmp_repair_queue_depth',
    help: 'Keys waiting in the durable repair queue.',
    registers: [this.registry],
  });
  readonly repairs = new Counter({
    name: 'kmp_repairs_total',
    help: 'Repair-queue events by outcome: queued, repaired (Kask re-driven from Redis), retried (failed or raced; backs off), lost (could not be queued).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly repairFailures = new Counter({
    name: 'kmp_repair_failures_total',
    help: "The repairer's own failed backend calls, by backend (apart from the request path's, and from its breakers).",
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });
  readonly redisWritable = new Gauge({
    name: 'kmp_redis_writable',
    help: 'Whether the Redis this sidecar writes to accepts writes: 1 a primary, 0 a read-only replica, -1 unknown.',
    registers: [this.registry],
  });
  readonly breakerState = new Gauge({
    name: 'kmp_breaker_state',
    help: 'Circuit breaker state per backend: 0 closed, 1 half-open, 2 open.',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });
  readonly phase = new Gauge({
    name: 'kmp_phase',
    help: 'The phase in force: 1 for the current phase, 0 for the others.',
    labelNames: ['phase'] as const,
    registers: [this.registry],
  });
  readonly shadow = new Counter({
    name: 'kmp_shadow_compare_total',
    help: 'dual-write shadow reads of Kask compared with the Redis answer: match, mismatch, kask_missing, error.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'kmp_build_info',
    help: 'Build facts of this sidecar; always 1.',
    labelNames: ['version', 'build_date', 'build_host', 'runtime'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    this.buildInfo.set(
      {
        version: BUILD.version,
        build_date: BUILD.buildDate,
        build_host: BUILD.buildHost,
        runtime: BUILD.runtime,
      },
      1,
    );
    // Series that alerts and dashboards divide or rate: present from the start, not only after the first event.
    for (const backend of ['kask', 'redis']) this.repairFailures.inc({ backend }, 0);
    for (const outcome of ['queued', 'repaired', 'retried', 'lost']) this.repairs.inc({ outcome }, 0);
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Series touched on every request are found with one Map lookup and counted in plain numbers: prom-client would
   * validate and hash a label object per call, even on a bound child. The label sets are small and fixed (status
   * codes we send, methods folded by methodLabel, five phases, five read sources), so the maps stay tiny.
   */
  readonly #requestSeries = new Map<string, PendingCount & { duration: HistogramSeries }>();
  readonly #readSeries = new Map<string, PendingCount>();

  /** One answered request under the base URI. */
  recordRequest(code: string, method: string, phase: string, seconds: number): void {
    const id = `${code} ${method} ${phase}`;
    let series = this.#requestSeries.get(id);
    if (series === undefined) {
      series = {
        labels: { code, method, phase },
        pending: 0,
        duration: this.requestDuration.labels({ code, method }),
      };
      this.#requestSeries.set(id, series);
    }
    series.pending++;
    series.duration.observe(seconds);
  }

  /** One GET answer, by where it came from. */
  recordRead(source: string): void {
    let series = this.#readSeries.get(source);
    if (series === undefined) {
      series = { labels: { source }, pending: 0 };
      this.#readSeries.set(source, series);
    }
    series.pending++;
  }

  /** At collection: what was counted since the last one goes into the prom-client counter. */
  #flush<L extends string>(series: Iterable<PendingCount>, counter: Counter<L>): void {
    for (const s of series)
      if (s.pending > 0) {
        counter.inc(s.labels as Record<L, string>, s.pending);
        s.pending = 0;
      }
  }

  setPhase(current: PhaseName): void {
    for (const name of PHASE_NAMES) this.phase.set({ phase: name }, name === current ? 1 : 0);
  }
}
