#!/usr/bin/env node
// `npm run bench`: the sidecar's data path against real processes on 127.0.0.1, reported as ratios to nginx measured
// in the same run, on the machine's Node and on Node 24 (`npx -p node@24`). See bench/README.md.
//
// Rows: direct calls to the Kask emulator; nginx proxy_pass; a raw-socket Node forwarder (Node's floor); the sidecar
// in kask-only; in migration on Kask hits, on Redis fallback hits (backfill off) and on writes. Load: wrk (closed
// loop, 32 connections) for throughput; rate.js (open loop, 2,000 req/s, paired with direct) for added latency. CPU
// per request: utime+stime of the proxying process from /proc, divided by the requests it answered.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../src/redis/local-server.js';
import { awaitQuiet, childrenOf, settle, ticksOf, ticksToUs, withForeignLoad } from './lib/cpu.js';
import { runRate, runWrk, type WrkShape } from './lib/load.js';
import {
  cleanup,
  findBinary,
  installExitHandlers,
  node24Path,
  onCleanup,
  running,
  stop,
} from './lib/processes.js';
import {
  f0,
  median,
  type RateRun,
  type Row,
  rateTable,
  type TargetCheck,
  type ThroughputRun,
  table,
  targetLines,
  throughputTable,
} from './lib/report.js';
import {
  BASE,
  deployedNodeOptions,
  expectValue,
  KEY_PATH,
  REDIS_VALUE,
  ROOT,
  startEmulator,
  startForwarder,
  startNginx,
  startSidecar,
  type Target,
  VALUE,
} from './lib/targets.js';
import { type CpuProfile, formatSummary, summariseProfile } from './profile-summary.js';

const HELP = `Usage: npm run bench [-- options]
  --rounds N        measure every row N times, interleaved; tables show medians (default 1)
  --duration S      seconds per measured run (default 5)
  --warmup S        seconds of warm-up before each run (default 1)
  --connections N   wrk connections (default 32)
  --rate R          fixed rate for the latency runs, req/s (default 2000)
  --max-wait S      seconds, in all, to wait for other processes to leave the CPUs alone (default 60)
  --no-node24       only the machine's Node
  --baseline DIR    also run DIR's build (a checkout of another commit, built) as "baseline" sidecar rows
  --json FILE       also write every raw number to FILE
  --profile         instead: the sidecar (migration) under node --cpu-prof at max load, summarised
  --soak MINUTES    instead: the sidecar (migration) at saturation for MINUTES (each minute 40 s Kask hits, 10 s
                    fallback hits, 10 s writes), its RSS after every minute; on Node 24 only unless --no-node24
  --help`;

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    rate: { type: 'string', default: '2000' },
    'max-wait': { type: 'string', default: '60' },
    'no-node24': { type: 'boolean', default: false },
    json: { type: 'string' },
    baseline: { type: 'string' },
    profile: { type: 'boolean', default: false },
    soak: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const num = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
};
const ROUNDS = Math.max(1, Math.round(num('rounds', opt.rounds)));
const DURATION = num('duration', opt.duration);
const WARMUP = num('warmup', opt.warmup);
const CONNECTIONS = Math.round(num('connections', opt.connections));
const RATE = num('rate', opt.rate);
let quietBudgetS = num('max-wait', opt['max-wait']);

const say = (s: string): void => void process.stdout.write(`${s}\n`);
const note = (s: string): void => void process.stderr.write(s);

/** nginx, wrk and redis-server; installed with apt-get when missing and we may (root, Debian-like). */
function binaries(): { nginx: string; wrk: string; redis: string } {
  const find = () => ({
    nginx: findBinary('nginx'),
    wrk: findBinary('wrk'),
    redis: findBinary('redis-server'),
  });
  let bins = find();
  const missing = () => Object.entries(bins).filter(([, p]) => p === null);
  if (missing().length > 0 && process.getuid?.() === 0 && findBinary('apt-get')) {
    note(
      `bench: installing ${missing()
        .map(([n]) => n)
        .join(', ')} with apt-get\n`,
    );
    const pkgs = missing().map(([n]) => (n === 'redis' ? 'redis-server' : n));
    execFileSync('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=600', ...pkgs], {
      stdio: 'inherit',
    });
    bins = find();
  }
  if (missing().length > 0) {
    const names = missing().map(([n]) => (n === 'redis' ? 'redis-server' : n));
    throw new Error(`missing: ${names.join(', ')} (apt-get install -y ${names.join(' ')})`);
  }
  return bins as { nginx: string; wrk: string; redis: string };
}

const TMP = mkdtempSync(join(tmpdir(), 'kmp-bench-'));
onCleanup(async () => rmSync(TMP, { recursive: true, force: true }));
installExitHandlers(
  300 + (quietBudgetS + ROUNDS * 30 * (WARMUP + DURATION + 6)) * 1.5 + Number(opt.soak ?? 0) * 60 * 1.5,
);

const extraPids = new Set<number>();
const ourPids = (): number[] => [process.pid, ...extraPids, ...running().map((r) => r.pid)];

/** Fresh keys for fallback reads (preloaded into Redis only) and for writes; each used once. */
const FALLBACK_REDIS_PREFIX = 'global:echo:seen:alert:time:fb';
const FALLBACK_PATH_PREFIX = `${BASE}global%3Aecho%3Aseen%3Aalert%3Atime%3Afb`;
const WRITE_PATH_PREFIX = `${BASE}global%3Aecho%3Aseen%3Aalert%3Atime%3Aw`;
let fbLoaded = 0;
let fbNext = 0;
let writeNext = 0;

async function ensureFallbackKeys(redis: Redis, count: number): Promise<void> {
  const upTo = fbNext + Math.ceil(count);
  if (upTo <= fbLoaded) return;
  const target = Math.ceil(upTo / 50_000) * 50_000;
  for (let from = fbLoaded; from < target; from += 10_000) {
    const p = redis.pipeline();
    for (let i = from; i < from + 10_000; i++) p.setex(`${FALLBACK_REDIS_PREFIX}${i}`, 31536000, REDIS_VALUE);
    const res = await p.exec();
    if (res?.some(([err]) => err)) throw new Error('preloading Redis failed');
  }
  fbLoaded = target;
}

type Load = 'hits' | 'fallback' | 'writes';
interface BenchRow {
  label: string;
  node: string;
  target: Target;
  load: Load;
  /** Also measured at the fixed rate. */
  rate: boolean;
}

async function main(): Promise<void> {
  const bins = binaries();
  const machineNode = { label: process.version.split('.')[0]!, path: process.execPath };
  const nodes = [machineNode];
  if (!opt['no-node24'] && !process.version.startsWith('v24.')) {
    note('bench: resolving Node 24 (npx -y -p node@24) … ');
    const path = node24Path();
    const version = execFileSync(path, ['--version']).toString().trim();
    nodes.push({ label: version.split('.')[0]!, path });
    note(`${version}\n`);
  }
  say(
    `kask-migration-proxy bench — ${new Date().toISOString()} — ${cpus().length} cores; nodes ${nodes.map((n) => n.label).join(', ')}; ` +
      `wrk -t1 -c${CONNECTIONS}; fixed rate ${RATE} req/s; ${WARMUP}+${DURATION} s per run; ${ROUNDS} round(s)`,
  );
  say(`build: ${buildIdentity()}`);
  say(`sidecars run with the deployed Node options: ${deployedNodeOptions().join(' ') || '(none)'}`);

  const emu = await startEmulator(machineNode.path);
  const post = await fetch(emu.origin + KEY_PATH, { method: 'POST', body: VALUE });
  if (post.status !== 201) throw new Error(`emulator POST answered ${post.status}`);
  const localRedis = await startLocalRedis(bins.redis);
  onCleanup(() => localRedis.stop());
  const redisPids = childrenOf(process.pid, 'redis-server');
  for (const pid of redisPids) extraPids.add(pid);
  const redis = new Redis(localRedis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  onCleanup(async () => redis.disconnect());
  await redis.connect();

  if (opt.profile) return profileMode(emu, localRedis.url, redis, bins.wrk, nodes);
  if (opt.soak !== undefined)
    return soakMode(emu, localRedis.url, redis, bins.wrk, nodes.at(-1)!, num('soak', opt.soak));

  const nginx = await startNginx(bins.nginx, emu.origin, TMP);
  for (const pid of nginx.pids) extraPids.add(pid);
  const rows: BenchRow[] = [
    { label: 'direct → Kask emulator', node: machineNode.label, target: emu, load: 'hits', rate: false },
    { label: 'nginx proxy_pass', node: '–', target: nginx, load: 'hits', rate: true },
  ];
  const kaskUrl = emu.origin + BASE;
  for (const n of nodes) {
    const spec = { kaskUrl, redisUrl: localRedis.url, node: n.path };
    const fwd = await startForwarder(n.path, emu.origin, n.label);
    const kaskOnly = await startSidecar(
      { ...spec, name: `kask-only-${n.label}`, phase: 'kask-only', backfill: true },
      TMP,
    );
    const mig = await startSidecar(
      { ...spec, name: `migration-${n.label}`, phase: 'migration', backfill: true },
      TMP,
    );
    const noBackfill = await startSidecar(
      { ...spec, name: `migration-nobackfill-${n.label}`, phase: 'migration', backfill: false },
      TMP,
    );
    if (opt.baseline) {
      const root = opt.baseline;
      const before = await startSidecar(
        { ...spec, root, name: `baseline-${n.label}`, phase: 'migration', backfill: true },
        TMP,
      );
      const beforeNb = await startSidecar(
        { ...spec, root, name: `baseline-nobackfill-${n.label}`, phase: 'migration', backfill: false },
        TMP,
      );
      rows.push(
        { label: 'baseline migration, Kask hits', node: n.label, target: before, load: 'hits', rate: true },
        {
          label: 'baseline migration, fallback hits',
          node: n.label,
          target: beforeNb,
          load: 'fallback',
          rate: false,
        },
        { label: 'baseline migration, writes', node: n.label, target: before, load: 'writes', rate: false },
      );
    }
    rows.push(
      { label: 'raw-socket Node forwarder', node: n.label, target: fwd, load: 'hits', rate: true },
      { label: 'sidecar kask-only', node: n.label, target: kaskOnly, load: 'hits', rate: true },
      { label: 'sidecar migration, Kask hits', node: n.label, target: mig, load: 'hits', rate: true },
      {
        label: 'sidecar migration, fallback hits',
        node: n.label,
        target: noBackfill,
        load: 'fallback',
        rate: false,
      },
      { label: 'sidecar migration, writes', node: n.label, target: mig, load: 'writes', rate: false },
    );
  }
  for (const r of rows) await expectValue(r.target.origin, KEY_PATH, `${r.label} (${r.node})`);
  await redis.setex(`${FALLBACK_REDIS_PREFIX}probe`, 60, REDIS_VALUE);
  for (const r of rows.filter((x) => x.load === 'fallback'))
    await expectValue(r.target.origin, `${FALLBACK_PATH_PREFIX}probe`, `${r.label} (${r.node})`);
  say('checked: every target answers the Echo value byte for byte, and fallback reads the Redis value\n');

  const thr = rows.map((r): Row<ThroughputRun> => ({ label: r.label, node: r.node, runs: [] }));
  const rateRows = rows.filter((r) => r.rate);
  const rates = rateRows.map((r): Row<RateRun> => ({ label: r.label, node: r.node, runs: [] }));
  let fbRpsGuess = 10_000;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, r] of rows.entries()) {
      note(`round ${round}/${ROUNDS}: ${r.label} (${r.node}) … `);
      quietBudgetS -= await awaitQuiet(ourPids, quietBudgetS);
      const run = await throughput(r, redis, bins.wrk, [emu.pids[0]!, ...redisPids], fbRpsGuess);
      if (r.load === 'fallback') fbRpsGuess = Math.max(1000, run.rps);
      thr[i]!.runs.push(run);
      note(`${f0(run.rps)} req/s, ${f0(run.cpuUsPerReq)} µs/req\n`);
    }
    for (const [i, r] of rateRows.entries()) {
      note(`round ${round}/${ROUNDS}: ${RATE} req/s, ${r.label} (${r.node}) … `);
      quietBudgetS -= await awaitQuiet(ourPids, quietBudgetS);
      const run = await fixedRate(r, emu, machineNode.path);
      rates[i]!.runs.push(run);
      note(`added p50 ${f0(run.addedP50Us)} µs, p99 ${f0(run.addedP99Us)} µs\n`);
    }
  }

  const nginxRow = thr[1]!;
  say(`Max throughput (wrk, ${CONNECTIONS} connections, ${DURATION} s; median of ${ROUNDS} round(s)):`);
  say(throughputTable(thr, nginxRow));
  say(`\nFixed rate ${RATE} req/s (open loop; added = proxy − direct over the same seconds):`);
  say(rateTable(rates));
  say(`\nIssue targets (ratios to nginx from this run):`);
  for (const n of nodes) {
    const thrOf = (label: string) => thr.find((r) => r.label === label && r.node === n.label)!;
    const medOf = (row: Row<ThroughputRun>, f: keyof ThroughputRun) => median(row.runs.map((x) => x[f]));
    const nginxCpu = medOf(nginxRow, 'cpuUsPerReq');
    const hits = thrOf('sidecar migration, Kask hits');
    const rateHits = rates.find((r) => r.label === 'sidecar migration, Kask hits' && r.node === n.label)!;
    const checks: TargetCheck[] = [
      {
        what: 'migration Kask hits, CPU/req ×nginx',
        value: medOf(hits, 'cpuUsPerReq') / nginxCpu,
        limit: 2,
        kind: 'max',
      },
      {
        what: 'migration Kask hits, req/s ×nginx',
        value: medOf(hits, 'rps') / medOf(nginxRow, 'rps'),
        limit: 0.7,
        kind: 'min',
      },
      {
        what: `migration Kask hits, added p99 ms at ${RATE} req/s`,
        value: median(rateHits.runs.map((x) => x.addedP99Us)) / 1000,
        limit: 1,
        kind: 'max',
      },
      {
        what: 'migration fallback hits, CPU/req ×nginx',
        value: medOf(thrOf('sidecar migration, fallback hits'), 'cpuUsPerReq') / nginxCpu,
        limit: 4,
        kind: 'max',
      },
      {
        what: 'migration writes, CPU/req ×nginx',
        value: medOf(thrOf('sidecar migration, writes'), 'cpuUsPerReq') / nginxCpu,
        limit: 4,
        kind: 'max',
      },
    ];
    say(`Node ${n.label}:\n${targetLines(checks)}`);
  }
  const noisy = [...thr, ...rates].filter((r) => r.runs.some((x) => x.otherPct > 15));
  if (noisy.length > 0)
    say(
      `\nWARNING: other processes used > 15% of a core during: ${noisy.map((r) => `${r.label} (${r.node})`).join('; ')}. ` +
        'Trust their CPU µs/req (per process, from /proc) over their req/s and latency.',
    );
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ throughput: thr, rate: rates }, null, 2));
}

async function throughput(
  r: BenchRow,
  redis: Redis,
  wrk: string,
  backendPids: number[],
  fbRpsGuess: number,
): Promise<ThroughputRun> {
  const allPids = [...r.target.pids, ...backendPids];
  const shape = async (seconds: number): Promise<WrkShape> => {
    if (r.load === 'hits') return { kind: 'static', url: r.target.origin + KEY_PATH };
    if (r.load === 'writes') {
      const from = writeNext;
      writeNext += 200_000;
      return { kind: 'writes', origin: r.target.origin, prefix: WRITE_PATH_PREFIX, from, value: VALUE };
    }
    await ensureFallbackKeys(redis, seconds * fbRpsGuess * 2 + 2_000);
    return { kind: 'distinct-reads', origin: r.target.origin, prefix: FALLBACK_PATH_PREFIX, from: fbNext };
  };
  const used = (requests: number) => {
    if (r.load === 'fallback') fbNext += requests + CONNECTIONS + 10; // in flight when wrk stopped used a key too
  };
  if (WARMUP > 0) used((await runWrk(wrk, await shape(WARMUP), WARMUP, CONNECTIONS)).requests);
  await settle(allPids);
  const measuredShape = await shape(DURATION);
  const c0 = ticksOf(r.target.pids);
  const [w, otherPct] = await withForeignLoad(ourPids, () =>
    runWrk(wrk, measuredShape, DURATION, CONNECTIONS),
  );
  await settle(allPids);
  const c1 = ticksOf(r.target.pids);
  used(w.requests);
  return {
    rps: w.rps,
    p50Us: w.p50_us,
    p99Us: w.p99_us,
    cpuUsPerReq: ticksToUs(c1 - c0) / w.requests,
    errors: w.errors,
    otherPct,
  };
}

async function fixedRate(r: BenchRow, emu: Target, node: string): Promise<RateRun> {
  const [res, otherPct] = await withForeignLoad(ourPids, () =>
    runRate(
      node,
      {
        url: r.target.origin + KEY_PATH,
        directUrl: emu.origin + KEY_PATH,
        rate: RATE,
        warmup: WARMUP,
        duration: DURATION,
        connections: CONNECTIONS,
      },
      { sample: () => [ticksOf(r.target.pids)], settle: () => settle(r.target.pids) },
    ),
  );
  return {
    addedP50Us: res.target.p50_us - res.direct.p50_us,
    addedP99Us: res.target.p99_us - res.direct.p99_us,
    cpuUsPerReq: ticksToUs(res.ticks[0]!) / res.target.answered,
    unanswered: res.target.unanswered + res.target.errors + res.target.non200,
    sendLagP99Us: res.sendLagP99Us,
    otherPct,
  };
}

/** The sidecar in migration under node --cpu-prof, at max load: Kask hits, fallback hits, writes. */
async function profileMode(
  emu: Target,
  redisUrl: string,
  redis: Redis,
  wrk: string,
  nodes: Array<{ label: string; path: string }>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kmp-bench-profiles-'));
  for (const n of nodes) {
    for (const load of ['hits', 'fallback', 'writes'] as const) {
      const sub = join(dir, `${n.label}-${load}`);
      mkdirSync(sub, { recursive: true });
      const target = await startSidecar(
        {
          name: `profile-${n.label}-${load}`,
          phase: 'migration',
          backfill: load !== 'fallback',
          kaskUrl: emu.origin + BASE,
          redisUrl,
          node: n.path,
          nodeArgs: ['--cpu-prof', '--cpu-prof-dir', sub, '--cpu-prof-interval', '100'],
        },
        TMP,
      );
      const row: BenchRow = { label: load, node: n.label, target, load, rate: false };
      const run = await throughput(row, redis, wrk, [], 10_000);
      await stop(target.rec, 'SIGTERM', 15_000); // the profile is written as the process exits
      await sleep(100);
      const file = readdirSync(sub).find((f) => f.endsWith('.cpuprofile'));
      say(
        `\n== Node ${n.label}, migration ${load}: ${f0(run.rps)} req/s under the profiler (not comparable)`,
      );
      if (!file) {
        say('   no .cpuprofile written');
        continue;
      }
      say(`   ${join(sub, file)}`);
      const profile = JSON.parse(readFileSync(join(sub, file), 'utf8')) as CpuProfile;
      say(formatSummary(summariseProfile(profile), 30));
    }
  }
  say(`\nprofiles kept in ${dir} (Chrome DevTools › Performance, or dist-bench/bench/profile-summary.js)`);
}

/** One minute of the soak: mostly Kask hits, some fallback hits and writes, so every path's memory is exercised. */
const SOAK_MINUTE: Array<{ load: Load; seconds: number }> = [
  { load: 'hits', seconds: 40 },
  { load: 'fallback', seconds: 10 },
  { load: 'writes', seconds: 10 },
];
/** The issue's memory target: RSS under this after the soak, and no growth from minute 1 to the end. */
const SOAK_RSS_LIMIT_MB = 150;
/** Growth from minute 1 to the last minute within this is noise (heap sizing, allocator), not a leak. */
const SOAK_GROWTH_TOLERANCE_MB = 5;

/** The sidecar in migration at saturation for `minutes`, its RSS sampled at the end of every minute. */
async function soakMode(
  emu: Target,
  redisUrl: string,
  redis: Redis,
  wrk: string,
  node: { label: string; path: string },
  minutes: number,
): Promise<void> {
  const target = await startSidecar(
    {
      name: `soak-${node.label}`,
      phase: 'migration',
      backfill: true,
      kaskUrl: emu.origin + BASE,
      redisUrl,
      node: node.path,
    },
    TMP,
  );
  const pid = target.pids[0]!;
  say(
    `Soak: sidecar migration on Node ${node.label}, ${minutes} minute(s) at saturation (wrk, ${CONNECTIONS} connections)`,
  );
  const rows: string[][] = [];
  const rss: number[] = [];
  for (let minute = 1; minute <= minutes; minute++) {
    let requests = 0;
    let errors = 0;
    for (const { load, seconds } of SOAK_MINUTE) {
      let shape: WrkShape;
      if (load === 'hits') shape = { kind: 'static', url: target.origin + KEY_PATH };
      else if (load === 'writes') {
        shape = {
          kind: 'writes',
          origin: target.origin,
          prefix: WRITE_PATH_PREFIX,
          from: writeNext,
          value: VALUE,
        };
        writeNext += 2_000_000;
      } else {
        await ensureFallbackKeys(redis, seconds * 15_000);
        shape = { kind: 'distinct-reads', origin: target.origin, prefix: FALLBACK_PATH_PREFIX, from: fbNext };
      }
      const w = await runWrk(wrk, shape, seconds, CONNECTIONS);
      if (load === 'fallback') fbNext += w.requests + CONNECTIONS + 10;
      requests += w.requests;
      errors += w.errors;
    }
    const mb = rssMb(pid);
    const heap = await heapMb(target.origin);
    rss.push(mb);
    rows.push([
      String(minute),
      f0(requests / 60),
      String(errors),
      f0(mb),
      f0(heap.used),
      f0(heap.old),
      f0(heap.young),
    ]);
    note(`soak minute ${minute}/${minutes}: ${f0(requests / 60)} req/s, RSS ${f0(mb)} MB\n`);
  }
  say(
    table(['minute', 'req/s', 'errors', 'RSS MB', 'heap used MB', 'old space used MB', 'young gen MB'], rows),
  );
  const last = rss.at(-1)!;
  const growth = last - rss[0]!;
  say(`\nIssue targets (Node ${node.label}):`);
  say(
    targetLines([
      { what: `RSS MB after ${minutes} minute(s)`, value: last, limit: SOAK_RSS_LIMIT_MB, kind: 'max' },
      {
        what: `RSS growth MB, minute 1 to ${minutes}`,
        value: growth,
        limit: SOAK_GROWTH_TOLERANCE_MB,
        kind: 'max',
      },
    ]),
  );
}

/** The sidecar's own V8 heap figures (its /metrics): what is live, and how much the young generation reserves. */
async function heapMb(origin: string): Promise<{ used: number; old: number; young: number }> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN) / 1024 / 1024;
  return {
    used: value(/^nodejs_heap_size_used_bytes (\S+)$/m),
    old: value(/^nodejs_heap_space_size_used_bytes\{space="old"\} (\S+)$/m),
    young: value(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)$/m),
  };
}

/** Resident set size of a process, from /proc/<pid>/status. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function buildIdentity(): string {
  try {
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .split('\n')
      .filter(Boolean).length;
    return `git ${head.toString().trim()}${dirty ? ` + ${dirty} uncommitted change(s) under src/` : ''} (dist/ as built)`;
  } catch {
    return 'dist/ as built (no git)';
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`\nbench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
