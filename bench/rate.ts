#!/usr/bin/env node
// A constant-rate (open-loop) HTTP GET generator, run by bench/run.ts in its own process so that it never shares an
// event loop with anything being measured.
//
// Request i is *due* at t0 + i/rate. A 1 ms timer sends every request that is due (so at 2,000 req/s it sends ~2 per
// tick), and each latency is measured from the request's due time, not from when it actually left: if the target (or
// this process) stalls, the requests that should have gone out meanwhile are charged for the wait. That is what
// avoids coordinated omission, the flaw of closed-loop tools (wrk) at a fixed rate.
//
// Paired targets: with several --target options every target gets its own connection pool and the full rate, with
// the same due times (the order alternates). bench/run.ts pairs each proxy with the direct emulator, so a stall of the
// machine (this is a small shared VM) hits both sides of the comparison alike, and "added latency" is the difference
// of two distributions measured over the same seconds.
//
// A target is a URL; `{n}` in it is replaced by start + i, so every request can read a different key.
//
// Protocol on stdout (one JSON object per line): {"event":"start"} when the first measured request is due (after the
// warm-up), {"event":"end"} once every measured request has been answered, then {"event":"result", targets: [...]}.
//
// Usage: node rate.js (compiled) --target URL [--target URL …] [--start N] [--rate 2000] [--warmup 1] [--duration 5]
//                           [--connections 32]
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { MEDIAWIKI_HEADERS } from './lib/mediawiki-headers.js';

const { values: o } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    start: { type: 'string', default: '0' },
    rate: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
  },
});
if (!o.target?.length) {
  process.stderr.write('rate.js: at least one --target URL is required\n');
  process.exit(2);
}
const rate = Number(o.rate);
const warmupN = Math.round(Number(o.warmup) * rate);
const measuredN = Math.round(Number(o.duration) * rate);
const total = warmupN + measuredN;
const interval = 1000 / rate;
const firstKey = Number(o.start);

interface Target {
  url: string;
  pathOf: (i: number) => string;
  pool: Pool;
  latencyUs: Float64Array;
  answered: number;
  errors: number;
  non200: number;
}

const targets: Target[] = o.target.map((raw): Target => {
  const url = new URL(raw.replace('{n}', '__N__'));
  const path = url.pathname + url.search;
  const [before, after] = path.includes('__N__') ? path.split('__N__') : [path, null];
  return {
    url: raw,
    pathOf: after === null ? () => before! : (i: number) => `${before}${firstKey + i}${after}`,
    pool: new Pool(url.origin, {
      connections: Number(o.connections),
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    }),
    latencyUs: new Float64Array(measuredN).fill(Number.NaN),
    answered: 0,
    errors: 0,
    non200: 0,
  };
});
const sendLagUs = new Float64Array(measuredN).fill(Number.NaN);
let sent = 0;
let measuredAnswered = 0;
let endSignalled = false;
let measureStartedAt = 0;

const emit = (obj: object): boolean => process.stdout.write(`${JSON.stringify(obj)}\n`);

async function fire(t: Target, i: number, due: number): Promise<void> {
  try {
    const res = await t.pool.request({ method: 'GET', path: t.pathOf(i), headers: MEDIAWIKI_HEADERS });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) t.non200++;
  } catch {
    t.errors++;
  }
  if (i >= warmupN) {
    t.latencyUs[i - warmupN] = (performance.now() - due) * 1000;
    t.answered++;
    if (++measuredAnswered === measuredN * targets.length) finish();
  }
}

// Let every pool open its first connection before the clock starts (key start-1: never one of the measured keys).
for (const t of targets) {
  try {
    const res = await t.pool.request({ method: 'GET', path: t.pathOf(-1) });
    await res.body.dump();
  } catch (err) {
    process.stderr.write(`rate.js: first request to ${t.url} failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

const t0 = performance.now() + 5;
function tick(): void {
  const now = performance.now();
  while (sent < total) {
    const due = t0 + sent * interval;
    if (due > now) break;
    if (sent === warmupN) {
      measureStartedAt = due;
      emit({ event: 'start' });
    }
    if (sent >= warmupN) sendLagUs[sent - warmupN] = (now - due) * 1000;
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(sent + k) % targets.length]!; // alternate who goes first
      void fire(t, sent, due);
    }
    sent++;
  }
  if (sent < total) setTimeout(tick, 1);
}
setTimeout(tick, 5);

// Bounded: whatever is still unanswered 10 s after the last request was due is given up on.
const hardStop = setTimeout(finish, (total / rate) * 1000 + 10_000);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

function finish(): void {
  if (endSignalled) return;
  endSignalled = true;
  clearTimeout(hardStop);
  const windowS = (performance.now() - measureStartedAt) / 1000;
  emit({ event: 'end' });
  const lag = Float64Array.from(sendLagUs.filter((v) => !Number.isNaN(v))).sort();
  emit({
    event: 'result',
    rate,
    measured: measuredN,
    window_s: windowS,
    send_lag_p99_us: percentile(lag, 99),
    send_lag_max_us: lag.length ? lag[lag.length - 1] : Number.NaN,
    targets: targets.map((t) => {
      const lat = Float64Array.from(t.latencyUs.filter((v) => !Number.isNaN(v))).sort();
      return {
        url: t.url,
        answered: lat.length,
        unanswered: measuredN - lat.length,
        errors: t.errors,
        non200: t.non200,
        achieved_rps: lat.length / windowS,
        p50_us: percentile(lat, 50),
        p90_us: percentile(lat, 90),
        p99_us: percentile(lat, 99),
        p999_us: percentile(lat, 99.9),
        max_us: lat.length ? lat[lat.length - 1] : Number.NaN,
      };
    }),
  });
  Promise.all(targets.map((t) => t.pool.destroy())).finally(() => process.exit(0));
}
