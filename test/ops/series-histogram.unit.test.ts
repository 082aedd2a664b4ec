// The per-request histogram must scrape exactly as prom-client's own Histogram would for the same observations:
// dashboards, alerts and histogram_quantile read these series. Compared on random sequences, as text and as JSON.
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { SeriesHistogram } from '../../src/ops/series-histogram.js';
import { runs } from '../support/tier.js';

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const labelValue = fc.constantFrom('kask', 'redis', 'a "quoted"\\ value\n', '', 'é');
const observation = fc.record({
  backend: labelValue,
  op: fc.constantFrom('get', 'set'),
  // Exactly on bounds, between them, above all of them, zero and negative.
  value: fc.oneof(fc.constantFrom(...BOUNDS, 0, -1, 3, 1e9), fc.double({ min: -1, max: 5, noNaN: true })),
});

function pair() {
  const ours = new Registry();
  const theirs = new Registry();
  const histogram = new SeriesHistogram('h_seconds', 'help "text"\\', ['backend', 'op'], BOUNDS, ours);
  const reference = new Histogram({
    name: 'h_seconds',
    help: 'help "text"\\',
    labelNames: ['backend', 'op'] as const,
    buckets: BOUNDS,
    registers: [theirs],
  });
  return { ours, theirs, histogram, reference };
}

it('scrapes exactly as prom-client Histogram for any observations (text and JSON)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (seen) => {
      const { ours, theirs, histogram, reference } = pair();
      for (const { backend, op, value } of seen) {
        histogram.labels({ backend, op }).observe(value);
        reference.labels({ backend, op }).observe(value);
      }
      expect(await ours.metrics()).toBe(await theirs.metrics());
      expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    }),
    runs(300),
  );
});

it('a series bound once keeps counting into the same series', async () => {
  const { ours, histogram } = pair();
  const bound = histogram.labels({ backend: 'kask', op: 'get' });
  bound.observe(0.002);
  histogram.labels({ backend: 'kask', op: 'get' }).observe(0.2);
  bound.observe(7);
  const text = await ours.metrics();
  expect(text).toContain('h_seconds_bucket{le="0.0025",backend="kask",op="get"} 1');
  expect(text).toContain('h_seconds_bucket{le="0.25",backend="kask",op="get"} 2');
  expect(text).toContain('h_seconds_bucket{le="+Inf",backend="kask",op="get"} 3');
  expect(text).toContain('h_seconds_count{backend="kask",op="get"} 3');
});

it('refuses a value that is not a finite number, as prom-client does', () => {
  const { histogram } = pair();
  expect(() => histogram.labels({ backend: 'kask', op: 'get' }).observe(Number.NaN)).toThrow(TypeError);
});
