// /metrics after scripted traffic: reads by source give the fallback hit rate exactly, backend latency histograms
// count every Kask and Redis call, and phase, build info and process metrics are all exported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackends } from '../support/backends.js';
import { kv, type OpsSidecar, setPhase, startOpsSidecar } from '../support/ops-sidecar.js';
import { sleep } from '../support/wait.js';

const backends = useBackends();
let sidecar: OpsSidecar;

beforeAll(async () => {
  sidecar = await startOpsSidecar(backends, ['--phase', 'migration']);
});
afterAll(async () => {
  await sidecar?.proc.stop();
});

/** Prometheus text → `name{labels}` → value (labels as written by prom-client, in declaration order). */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${sidecar.origin}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const sample = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
const key = (kind: string, i: number) => `global:echo:seen:alert:time:metrics-${kind}-${i}`;

describe('metrics after scripted traffic', () => {
  const HITS = 7;
  const FALLBACKS = 5;
  const MISSES = 3;

  it('give the fallback hit rate exactly, and count every backend call', async () => {
    for (let i = 0; i < HITS; i++)
      await kv(backends.kask.url, 'POST', key('hit', i), 'JSON.."20260101000000"');
    for (let i = 0; i < FALLBACKS; i++)
      await backends.redis.set(key('fallback', i), 's:14:"20250101000000";');
    for (let i = 0; i < HITS; i++) expect((await kv(sidecar.url, 'GET', key('hit', i))).status).toBe(200);
    for (let i = 0; i < FALLBACKS; i++)
      expect((await kv(sidecar.url, 'GET', key('fallback', i))).status).toBe(200);
    for (let i = 0; i < MISSES; i++) expect((await kv(sidecar.url, 'GET', key('miss', i))).status).toBe(404);
    await sleep(200); // backfills run after the answer

    const m = await scrape();
    const fallback = sample(m, 'kmp_reads_total{source="redis_fallback"}');
    const miss = sample(m, 'kmp_reads_total{source="miss"}');
    expect(sample(m, 'kmp_reads_total{source="kask"}')).toBe(HITS);
    expect(fallback).toBe(FALLBACKS);
    expect(miss).toBe(MISSES);
    expect(fallback / (fallback + miss)).toBe(FALLBACKS / (FALLBACKS + MISSES));
    expect(sample(m, 'kmp_backfills_total{outcome="written"}')).toBe(FALLBACKS);

    const calls = (backend: string, op: string, outcome = 'ok') =>
      sample(
        m,
        `kmp_backend_request_duration_seconds_count{backend="${backend}",op="${op}",outcome="${outcome}"}`,
      );
    // Every GET asks Kask first; each backfill POSTs to Kask.
    expect(calls('kask', 'get')).toBe(HITS + FALLBACKS + MISSES);
    expect(calls('kask', 'set')).toBe(FALLBACKS);
    // Redis: one lookup per Kask miss, one convergence re-read per backfill.
    expect(calls('redis', 'get')).toBe(FALLBACKS + MISSES + FALLBACKS);
    expect(calls('kask', 'get', 'error') + calls('redis', 'get', 'timeout')).toBe(0);
    expect(
      sample(
        m,
        'kmp_backend_request_duration_seconds_bucket{le="+Inf",backend="kask",op="get",outcome="ok"}',
      ),
    ).toBe(HITS + FALLBACKS + MISSES);
    expect(
      sample(m, 'kmp_backend_request_duration_seconds_sum{backend="kask",op="get",outcome="ok"}'),
    ).toBeGreaterThan(0);

    expect(sample(m, 'http_requests_total{code="200",method="GET",phase="migration"}')).toBe(
      HITS + FALLBACKS,
    );
    expect(sample(m, 'http_requests_total{code="404",method="GET",phase="migration"}')).toBe(MISSES);
  });

  it('export the phase in force, build info, process metrics and the repair gauge', async () => {
    let m = await scrape();
    expect(sample(m, 'kmp_phase{phase="migration"}')).toBe(1);
    expect(sample(m, 'kmp_phase{phase="dual-write"}')).toBe(0);
    expect(sample(m, 'kmp_phase{phase="kask-only"}')).toBe(0);
    expect([...m.keys()].some((k) => k.startsWith('kmp_build_info{version="0.1.0"'))).toBe(true);
    expect(m.has('process_cpu_seconds_total')).toBe(true);
    expect(m.has('process_resident_memory_bytes')).toBe(true);
    expect([...m.keys()].some((k) => k.startsWith('nodejs_eventloop_lag_seconds'))).toBe(true);
    expect(m.has('kmp_repair_queue_depth')).toBe(true);

    await setPhase(sidecar.adminUrl, 'kask-only', true);
    m = await scrape();
    expect(sample(m, 'kmp_phase{phase="kask-only"}')).toBe(1);
    expect(sample(m, 'kmp_phase{phase="migration"}')).toBe(0);
    await setPhase(sidecar.adminUrl, 'migration');
  });
});
