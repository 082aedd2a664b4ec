// The per-request series are counted in plain numbers and reach prom-client when scraped: every scrape must show
// every request answered before it, once, whatever the number of scrapes in between.
import { expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { metricValue } from '../support/rig.js';

it('every request and read counted before a scrape is in it, exactly once', async () => {
  const metrics = new Metrics({ processMetrics: false });
  const scrape = () => metrics.registry.metrics();
  for (let i = 0; i < 3; i++) metrics.recordRequest('200', 'GET', 'migration', 0.0004);
  metrics.recordRequest('404', 'GET', 'migration', 0.002);
  metrics.recordRead('kask');
  let text = await scrape();
  expect(metricValue(text, 'http_requests_total', { code: '200', method: 'GET', phase: 'migration' })).toBe(
    3,
  );
  expect(metricValue(text, 'http_requests_total', { code: '404' })).toBe(1);
  expect(metricValue(text, 'http_request_duration_seconds_count', { code: '200', method: 'GET' })).toBe(3);
  expect(metricValue(text, 'http_request_duration_seconds_bucket', { code: '404', le: '0.001' })).toBe(0);
  expect(metricValue(text, 'http_request_duration_seconds_bucket', { code: '404', le: '0.0025' })).toBe(1);
  expect(metricValue(text, 'kmp_reads_total', { source: 'kask' })).toBe(1);
  expect(await scrape()).toBe(text); // a scrape adds nothing by itself
  metrics.recordRequest('200', 'GET', 'migration', 0.0004);
  metrics.recordRead('kask');
  metrics.recordRead('redis_fallback');
  text = await scrape();
  expect(metricValue(text, 'http_requests_total', { code: '200', method: 'GET', phase: 'migration' })).toBe(
    4,
  );
  expect(metricValue(text, 'kmp_reads_total', { source: 'kask' })).toBe(2);
  expect(metricValue(text, 'kmp_reads_total', { source: 'redis_fallback' })).toBe(1);
});
