// A Prometheus histogram for what is observed on every request. prom-client's own Histogram validates and hashes
// the label set on every observation, even through a bound child; here each series is bound once and an observation
// is plain arithmetic. It is exported through prom-client's registry in exactly the shape prom-client's Histogram
// gives (test/ops/series-histogram.unit.test.ts compares the two), so scrapes, dashboards and alerts see no
// difference.
import type { Metric, Registry } from 'prom-client';

export interface HistogramSeries {
  observe(value: number): void;
}

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); a value above every bound is only in `count` (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: null;
}

/** What prom-client's registry reads from a metric at a scrape. */
interface ExportedMetric {
  name: string;
  help: string;
  type: string;
  values: ExportedValue[];
  aggregator: string;
}

export class SeriesHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: Float64Array;
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    bounds: readonly number[],
    registry: Registry,
  ) {
    this.#bounds = Float64Array.from(bounds);
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these label values, created at zero on first use; bind it once and observe on it. */
  labels(labels: Record<L, string>): HistogramSeries {
    const id = this.labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.#series.get(id);
    if (series === undefined) {
      series = { labels: { ...labels }, counts: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
      this.#series.set(id, series);
    }
    const s = series;
    const bounds = this.#bounds;
    return {
      observe(value: number): void {
        if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
        for (let i = 0; i < bounds.length; i++)
          if (value <= bounds[i]!) {
            s.counts[i]!++;
            break;
          }
        s.sum += value;
        s.count++;
      },
    };
  }

  /** What the registry formats for a scrape (cumulative buckets, +Inf, sum, count per series). */
  async getForPromString(): Promise<ExportedMetric> {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({
          labels: { le: this.#bounds[i]! },
          sharedLabels: s.labels,
          value: cumulative,
          metricName: bucket,
          exemplar: null,
        });
      }
      values.push({
        labels: { le: '+Inf' },
        sharedLabels: s.labels,
        value: s.count,
        metricName: bucket,
        exemplar: null,
      });
      values.push({
        labels: {},
        sharedLabels: s.labels,
        value: s.sum,
        metricName: `${this.name}_sum`,
        exemplar: undefined,
      });
      values.push({
        labels: {},
        sharedLabels: s.labels,
        value: s.count,
        metricName: `${this.name}_count`,
        exemplar: undefined,
      });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The same with each value's series labels folded into its own (the registry's JSON form). */
  async get(): Promise<ExportedMetric> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return data;
  }

  /** Zeroes every series (they stay bound: a caller's series keeps counting). */
  reset(): void {
    for (const s of this.#series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
