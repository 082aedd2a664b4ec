#!/usr/bin/env node
// `npm run bench`: SPEC §8's sidecar targets, measured against real processes on 127.0.0.1 and reported as ratios to
// baselines measured in the same run (direct calls to the Kask emulator, and nginx proxy_pass to the same emulator).
// See bench/README.md for what is measured, how, and how to read it. Plain ESM, no build step: it imports the
// compiled project from ../dist (npm run bench builds first).
//
// Processes: one Kask emulator, one nginx (1 worker, upstream keepalive pool), a kask-only sidecar and a migration
// sidecar (with a private redis-server from dist/redis/local-server.js), all on 127.0.0.1. Load: wrk (closed loop,
// fixed connections) for max throughput, bench/rate.js (open loop, fixed rate, own process) for latency. CPU per
// request comes from /proc/<pid>/stat (utime+stime) deltas of the proxy process(es) only.
//
// Everything started here is stopped at the end, on errors and on Ctrl-C; every load run is bounded in time.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'kask-migration-proxy.js');
const RATE_JS = join(ROOT, 'bench', 'rate.js');
const BARE_PROXY_JS = join(ROOT, 'bench', 'bare-proxy.js');
const WRK_STATIC = join(ROOT, 'bench', 'wrk', 'report.lua');
const WRK_DISTINCT = join(ROOT, 'bench', 'wrk', 'distinct-keys.lua');

const BASE = '/echoseen/v1/';
/** Echo's seen-time key as MediaWiki puts it on the wire (rawurlencode'd) and RESTBagOStuff's JSON envelope. */
const KEY_PATH = `${BASE}global%3Aecho%3Aseen%3Aalert%3Atime%3A12345`;
const VALUE = 'JSON.."20261125112233"';
/** The same value as RedisBagOStuff stores it (PHP serialize of the string); converts to exactly VALUE. */
const REDIS_VALUE = 's:14:"20261125112233";';
/** Fallback keys: `…:fb<n>` exist in Redis only, so each first read is Kask miss → Redis → answer + backfill. */
const FALLBACK_REDIS_PREFIX = 'global:echo:seen:alert:time:fb';
const FALLBACK_PATH_PREFIX = `${BASE}global%3Aecho%3Aseen%3Aalert%3Atime%3Afb`;

const HELP = `Usage: npm run bench [-- options]      (or: node bench/run.js [options] after npm run build)

Measures the sidecar against direct calls to the Kask emulator and against nginx proxy_pass, on 127.0.0.1,
and prints absolute numbers plus the ratios SPEC §8 sets targets for.

Options:
  --duration S      measured seconds per run (default 5)
  --warmup S        warm-up seconds before each run (default 1)
  --connections N   wrk connections for max throughput (default 32)
  --rate N          fixed request rate for the latency runs (default 2000)
  --rounds N        repeat the whole set N times, interleaved, and report medians (default 2)
  --strict          exit 1 when a SPEC §8 target is missed
  --json FILE       also write every raw result as JSON
  --profile         instead: run the sidecar under node --cpu-prof at max load and summarise where its time goes
                    (kask-only, migration Kask hits, migration fallback hits; numbers not comparable to a normal run)
  --profile-dir D   where --profile writes the .cpuprofile files (default: a new directory under the OS temp dir)
  --max-wait S      at most this many seconds, in all, waiting for other processes to leave the CPUs (default 60)
  --max-repeats N   at most this many runs repeated because other processes disturbed them (default 6)
  --keep            keep the temporary directory (configs, nginx logs)

Needs wrk, nginx and redis-server on this machine (Debian: apt-get install -y nginx wrk redis-server).
`;

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    rate: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    strict: { type: 'boolean', default: false },
    json: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    'max-wait': { type: 'string', default: '60' },
    'max-repeats': { type: 'string', default: '6' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const DURATION = positive('duration', opt.duration);
const WARMUP = positive('warmup', opt.warmup, true);
const CONNECTIONS = Math.round(positive('connections', opt.connections));
const RATE = positive('rate', opt.rate);
const ROUNDS = Math.round(positive('rounds', opt.rounds));
const MAX_WAIT_S = positive('max-wait', opt['max-wait'], true);
const MAX_REPEATS = Math.round(positive('max-repeats', opt['max-repeats'], true));

function positive(name, raw, zeroOk = false) {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!zeroOk && n === 0)) {
    process.stderr.write(`bench: --${name} must be a positive number, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Prerequisites: say exactly what to install; install nothing.

function findBinary(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

const needed = opt.profile ? ['wrk', 'redis-server'] : ['nginx', 'wrk', 'redis-server'];
const bins = Object.fromEntries(needed.map((n) => [n, findBinary(n)]));
const missing = needed.filter((n) => bins[n] === null);
if (missing.length > 0) {
  const list = missing.join(' and ');
  process.stderr.write(
    `bench: ${list} ${missing.length > 1 ? 'are' : 'is'} not installed.\n` +
      `install ${list}: apt-get install -y ${missing.join(' ')}\n`,
  );
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  process.stderr.write(
    'bench: dist/ is missing: run `npm run build` first (`npm run bench` does it for you)\n',
  );
  process.exit(2);
}
if (!existsSync('/proc/self/stat')) {
  process.stderr.write('bench: needs Linux /proc to read per-process CPU time\n');
  process.exit(2);
}

const { freePort, startLocalRedis } = await import('../dist/redis/local-server.js');

// ---------------------------------------------------------------------------------------------------------------
// Process bookkeeping: everything we start is tracked and stopped, whatever happens.

const TMP = mkdtempSync(join(tmpdir(), 'kmp-bench-'));
/** @type {Set<{name: string, child: import('node:child_process').ChildProcess, tail: string}>} */
const procs = new Set();
let localRedis = null;
let cleaning = null;
let interrupted = false;

function track(name, child) {
  const rec = { name, child, tail: '', exited: false };
  const keep = (chunk) => {
    rec.tail = (rec.tail + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  procs.add(rec);
  child.once('exit', () => {
    rec.exited = true;
    procs.delete(rec);
  });
  child.once('error', (err) => {
    rec.tail += `\n[spawn error] ${err.message}`;
  });
  return rec;
}

async function stopProc(rec, signal = 'SIGTERM', graceMs = 5000) {
  const { child } = rec;
  if (rec.exited || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit').catch(() => {});
  try {
    child.kill(signal);
  } catch {}
  const timer = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      child.kill('SIGKILL');
    } catch {}
    await exited;
  }
}

function cleanup() {
  cleaning ??= (async () => {
    await Promise.allSettled([...procs].map((r) => stopProc(r)));
    if (localRedis) await localRedis.stop().catch(() => {});
    localRedis = null;
    if (!opt.keep) rmSync(TMP, { recursive: true, force: true });
    else process.stderr.write(`bench: kept ${TMP}\n`);
  })();
  return cleaning;
}

process.on('exit', () => {
  // Last resort (e.g. process.exit from elsewhere): nothing we started may outlive us.
  for (const r of procs) {
    try {
      r.child.kill('SIGKILL');
    } catch {}
  }
  if (localRedis) void localRedis.kill().catch(() => {});
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}; stopping every process it started\n`);
    void cleanup().finally(() => process.exit(130));
  });
}
// A hard bound on the whole run, whatever goes wrong.
const HARD_LIMIT_S = 180 + MAX_WAIT_S + (ROUNDS * 11 + MAX_REPEATS) * (WARMUP + DURATION + 8);
setTimeout(() => {
  process.stderr.write(`bench: still running after ${HARD_LIMIT_S} s; aborting\n`);
  void cleanup().finally(() => process.exit(1));
}, HARD_LIMIT_S * 1000).unref();

// ---------------------------------------------------------------------------------------------------------------
// CPU time from /proc.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function procStat(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}

function ticksOf(pids) {
  let t = 0;
  for (const pid of pids) {
    try {
      t += procStat(pid).ticks;
    } catch {}
  }
  return t;
}

function childrenOf(ppid, comm = null) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (procStat(name).ppid !== ppid) continue;
      if (comm && readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== comm) continue;
      out.push(Number(name));
    } catch {}
  }
  return out;
}

/** Waits until the processes are idle again (background backfills done), at most 4 s. */
async function settle(pids) {
  let prev = ticksOf(pids);
  for (let i = 0; i < 40; i++) {
    await sleep(100);
    const now = ticksOf(pids);
    if (now - prev <= 1) return;
    prev = now;
  }
}

/** Busy and steal ticks of the whole machine (/proc/stat), for telling our load from everyone else's. */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal … — irq/softirq left out of `busy`: loopback packet delivery
  // runs as softirq, charged to no process, so it would look like someone else's load.
  return { busy: f[0] + f[1] + f[2], softirq: f[5] + f[6], steal: f[7] ?? 0 };
}

/** Pids of everything this bench runs (itself, its children, nginx's workers, redis-server). */
const extraPids = new Set();
function ourPids() {
  const pids = [process.pid, ...extraPids];
  for (const r of procs) if (!r.exited && r.child.pid) pids.push(r.child.pid);
  return pids;
}

/**
 * CPU used on this machine by processes that are not ours, sampled inside a run's window (from 0.5 s in to 0.5 s
 * before its end, while the load generator still exists), in % of one core. Other engineers' test suites, CI or a
 * browser on the same 2 cores show up here; a run with much of it is not to be trusted.
 */
async function foreignLoad(seconds, signal) {
  if (seconds < 1.5) return { otherPct: Number.NaN, stealPct: Number.NaN };
  await sleep(500, null, { signal }).catch(() => {});
  const a = machineTicks();
  const ours0 = new Map(ourPids().map((p) => [p, ticksOf([p])]));
  const t0 = performance.now();
  await sleep((seconds - 1) * 1000, null, { signal }).catch(() => {});
  const b = machineTicks();
  let ours = 0;
  for (const [pid, t] of ours0) ours += Math.max(0, ticksOf([pid]) - t);
  const wallS = (performance.now() - t0) / 1000;
  return {
    otherPct: (100 * Math.max(0, b.busy - a.busy - ours)) / CLK_TCK / wallS,
    stealPct: (100 * (b.steal - a.steal)) / CLK_TCK / wallS,
    softirqPct: (100 * (b.softirq - a.softirq)) / CLK_TCK / wallS,
  };
}

/** Seconds this bench may spend, in all, waiting for other processes to leave the CPUs alone. */
let quietBudgetS = MAX_WAIT_S;
/** Runs this bench may repeat, in all, because other processes disturbed them. */
let retryBudget = MAX_REPEATS;

/** Waits (bounded) until other processes use less than a tenth of a core, measured while ours are idle. */
async function awaitQuiet() {
  let warned = false;
  while (quietBudgetS > 0) {
    const a = machineTicks();
    const ours0 = ticksOf(ourPids());
    const t0 = performance.now();
    await sleep(500);
    const wallS = (performance.now() - t0) / 1000;
    const other =
      (100 * Math.max(0, machineTicks().busy - a.busy - (ticksOf(ourPids()) - ours0))) / CLK_TCK / wallS;
    if (other < 10) return;
    quietBudgetS -= wallS;
    if (!warned) process.stderr.write(`[waiting: other processes use ${f0(other)}% of a core] `);
    warned = true;
  }
}

/** One measurement, started on a quiet machine when possible and repeated once if others disturbed it. */
async function undisturbed(label, measure) {
  process.stderr.write(`${label} … `);
  for (let attempt = 0; ; attempt++) {
    await awaitQuiet();
    const r = await measure();
    if (!(r.otherPct > NOISY_PCT) || attempt >= 1 || retryBudget <= 0) return r;
    retryBudget--;
    process.stderr.write(`[disturbed: other processes used ${f0(r.otherPct)}% of a core; again] `);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Starting the processes.

function waitForOutput(rec, pick, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk) => {
      buf += chunk.toString();
      const got = pick(buf);
      if (got != null) done(null, got);
    };
    const onExit = (code, signal) =>
      done(new Error(`${what} exited (${signal ?? code}) before it was ready:\n${rec.tail}`));
    const timer = setTimeout(
      () => done(new Error(`${what} not ready within ${timeoutMs} ms:\n${rec.tail}`)),
      timeoutMs,
    );
    function done(err, val) {
      clearTimeout(timer);
      rec.child.stdout.off('data', onData);
      rec.child.off('exit', onExit);
      err ? reject(err) : resolve(val);
    }
    rec.child.stdout.on('data', onData);
    rec.child.once('exit', onExit);
  });
}

async function startEmulator() {
  const child = spawn(
    process.execPath,
    [BIN, 'kask-emulator', '--listen', '127.0.0.1:0', '--base-uri', BASE, '--default-ttl', '31536000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const rec = track('kask emulator', child);
  const port = await waitForOutput(
    rec,
    (text) => {
      const m = /"port":(\d+)/.exec(text);
      return m ? Number(m[1]) : null;
    },
    15_000,
    'kask emulator',
  );
  return {
    name: 'emulator',
    rec,
    pid: child.pid,
    origin: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}${BASE}`,
  };
}

async function startBareProxy(emulatorOrigin) {
  const child = spawn(process.execPath, [BARE_PROXY_JS, '0', emulatorOrigin], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rec = track('bare node proxy', child);
  const port = await waitForOutput(
    rec,
    (text) => {
      const m = /"port":(\d+)/.exec(text);
      return m ? Number(m[1]) : null;
    },
    15_000,
    'bare node proxy',
  );
  return { name: 'bare', rec, pid: child.pid, origin: `http://127.0.0.1:${port}` };
}

async function startSidecar(name, phase, kaskUrl, redisUrl, nodeArgs = []) {
  const port = await freePort();
  const config = join(TMP, `${name}.yaml`);
  writeFileSync(
    config,
    [
      `phase: ${phase}`,
      `listen: 127.0.0.1:${port}`,
      `base_uri: ${BASE}`,
      'kask:',
      `  url: ${kaskUrl}`,
      'redis:',
      `  url: ${redisUrl}`,
      'values:',
      '  envelope_type: JSON',
      'admin:',
      '  listen: null',
      'logging:',
      '  level: info',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rec = track(`sidecar ${name}`, child);
  await waitForOutput(rec, (t) => (t.includes('serving Kask API') ? true : null), 20_000, `sidecar ${name}`);
  return { name, rec, pid: child.pid, origin: `http://127.0.0.1:${port}` };
}

async function startNginx(emulatorOrigin) {
  const port = await freePort();
  const dir = join(TMP, 'nginx');
  mkdirSync(dir, { recursive: true });
  const upstream = new URL(emulatorOrigin).host;
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `# Written by bench/run.js: one worker (to compare with one Node process), upstream keepalive pool.
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  upstream kask {
    server ${upstream};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://kask;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = spawn(bins.nginx, ['-p', `${dir}/`, '-c', conf, '-e', `${dir}/error.log`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rec = track('nginx', child);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (rec.exited) throw new Error(`nginx exited at start:\n${rec.tail}${readTail(`${dir}/error.log`)}`);
    try {
      const res = await fetch(origin + KEY_PATH);
      await res.arrayBuffer();
      break;
    } catch {}
    if (Date.now() > deadline)
      throw new Error(`nginx not ready within 10 s:\n${readTail(`${dir}/error.log`)}`);
    await sleep(50);
  }
  const workers = childrenOf(child.pid);
  if (workers.length === 0) throw new Error('nginx has no worker process');
  for (const pid of workers) extraPids.add(pid);
  return { name: 'nginx', rec, pid: child.pid, pids: [child.pid, ...workers], origin };
}

function readTail(file) {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Load generators.

async function runWrk(url, seconds, distinctFrom = null) {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '2s', '-s'];
  if (distinctFrom === null) args.push(WRK_STATIC, url);
  else args.push(WRK_DISTINCT, url, '--', FALLBACK_PATH_PREFIX, String(distinctFrom));
  const child = spawn(bins.wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const rec = track('wrk', child);
  let out = '';
  child.stdout.on('data', (c) => {
    out += c.toString();
  });
  const killer = setTimeout(() => void stopProc(rec, 'SIGKILL'), (seconds + 15) * 1000);
  const [code] = await once(child, 'exit');
  clearTimeout(killer);
  const m = /WRKJSON (\{.*\})/.exec(out);
  if (code !== 0 || !m) throw new Error(`wrk failed (exit ${code}):\n${rec.tail}`);
  const r = JSON.parse(m[1]);
  r.errors = r.connect + r.read + r.write + r.timeout;
  r.rps = r.requests / (r.duration_us / 1e6);
  return r;
}

/**
 * Constant-rate run in its own process, paired: `urls[0]` is the target, `urls[1]` the direct emulator, both at the
 * full rate with the same due times. CPU is read when the measured window opens and once everything is answered.
 */
async function runRate(urls, cpuPids, start = 0) {
  const args = [RATE_JS, '--rate', String(RATE), '--warmup', String(WARMUP), '--duration', String(DURATION)];
  args.push('--connections', String(CONNECTIONS), '--start', String(start));
  for (const u of urls) args.push('--target', u);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const rec = track('rate.js', child);
  const killer = setTimeout(() => void stopProc(rec, 'SIGKILL'), (WARMUP + DURATION + 30) * 1000);
  let t0 = null;
  let t1 = null;
  let result = null;
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (ev.event === 'start') t0 = cpuPids.map((p) => ticksOf(p));
    else if (ev.event === 'end') {
      await settle(cpuPids.flat());
      t1 = cpuPids.map((p) => ticksOf(p));
    } else if (ev.event === 'result') result = ev;
  }
  const [code] = child.exitCode !== null ? [child.exitCode] : await once(child, 'exit');
  clearTimeout(killer);
  if (!result || !t0 || !t1) throw new Error(`rate.js failed (exit ${code}):\n${rec.tail}`);
  const [target, base] = result.targets;
  const cpuUs = t0.map((v, i) => ((t1[i] - v) / CLK_TCK) * 1e6);
  return {
    ...target,
    base,
    send_lag_p99_us: result.send_lag_p99_us,
    send_lag_max_us: result.send_lag_max_us,
    proxyUs: cpuUs[0] / target.answered,
    // The emulator answers both streams.
    emuUs: cpuUs[1] / (target.answered + (base?.answered ?? 0)),
    redisUs: cpuUs[2] / target.answered,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Redis fallback keys: preloaded in batches, each used once.

let redisClient = null;
let fbLoaded = 0;
let fbNext = 0;

async function ensureFallbackKeys(count) {
  const upTo = fbNext + Math.ceil(count);
  if (upTo <= fbLoaded) return;
  const target = Math.ceil(upTo / 50_000) * 50_000;
  for (let from = fbLoaded; from < target; from += 10_000) {
    const p = redisClient.pipeline();
    for (let i = from; i < from + 10_000; i++) p.setex(`${FALLBACK_REDIS_PREFIX}${i}`, 31536000, REDIS_VALUE);
    const res = await p.exec();
    if (res.some(([err]) => err)) throw new Error('preloading Redis failed');
  }
  fbLoaded = target;
}

function takeFallbackKeys(used) {
  fbNext += used + CONNECTIONS + 10; // requests still in flight when wrk stopped also used a key
}

async function readsBySource(origin) {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^kmp_reads_total\{source="([a-z_]+)"\} (\d+)/gm)) out[m[1]] = Number(m[2]);
  for (const m of text.matchAll(/^kmp_backfills_total\{outcome="([a-z_]+)"\} (\d+)/gm))
    out[`backfill_${m[1]}`] = Number(m[2]);
  return out;
}

function diffCounts(a, b) {
  const out = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Sanity: every target answers the Echo value byte for byte before anything is measured.

async function expectValue(origin, path, what) {
  const res = await fetch(origin + path);
  const body = await res.text();
  if (res.status !== 200 || body !== VALUE)
    throw new Error(
      `${what}: GET ${path} answered ${res.status} ${JSON.stringify(body.slice(0, 200))}, want 200 ${VALUE}`,
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Output helpers.

function table(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) =>
    r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const ms = (us) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '–');
const say = (s) => process.stdout.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  say(
    `kask-migration-proxy bench — ${new Date().toISOString()} — node ${process.version}, ${
      (await import('node:os')).cpus().length
    } cores; wrk -t1 -c${CONNECTIONS}, fixed rate ${RATE} req/s, ${WARMUP}+${DURATION} s per run, ${ROUNDS} round(s)`,
  );
  say(`build: ${buildIdentity()}`);
  if (opt.profile) return profileMode();

  const emu = await startEmulator();
  const post = await fetch(emu.origin + KEY_PATH, {
    method: 'POST',
    body: VALUE,
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (post.status !== 201) throw new Error(`emulator POST answered ${post.status}`);
  localRedis = await startLocalRedis(bins['redis-server']);
  const redisPids = childrenOf(process.pid, 'redis-server');
  for (const pid of redisPids) extraPids.add(pid);
  const { Redis } = await import('ioredis');
  redisClient = new Redis(localRedis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redisClient.connect();

  const nginx = await startNginx(emu.origin);
  const bare = await startBareProxy(emu.origin);
  const kaskOnly = await startSidecar('kask-only', 'kask-only', emu.url, localRedis.url);
  const migration = await startSidecar('migration', 'migration', emu.url, localRedis.url);

  await expectValue(emu.origin, KEY_PATH, 'emulator');
  await expectValue(nginx.origin, KEY_PATH, 'nginx');
  await expectValue(bare.origin, KEY_PATH, 'bare node proxy');
  await expectValue(kaskOnly.origin, KEY_PATH, 'kask-only sidecar');
  await expectValue(migration.origin, KEY_PATH, 'migration sidecar');
  // A fallback read answers the converted Redis value and backfills Kask.
  await redisClient.setex(`${FALLBACK_REDIS_PREFIX}probe`, 60, REDIS_VALUE);
  await expectValue(migration.origin, `${FALLBACK_PATH_PREFIX}probe`, 'migration sidecar (Redis fallback)');
  await sleep(200);
  await expectValue(emu.origin, `${FALLBACK_PATH_PREFIX}probe`, 'emulator after backfill');
  say('checked: every target answers the Echo value byte for byte; a fallback read backfills Kask\n');

  const targets = [
    { id: 'direct', label: 'direct → Kask emulator', origin: emu.origin, proxy: [] },
    { id: 'nginx', label: 'nginx proxy_pass → emulator', origin: nginx.origin, proxy: nginx.pids },
    { id: 'bare', label: 'bare Node proxy (reference)', origin: bare.origin, proxy: [bare.pid] },
    { id: 'kaskonly', label: 'sidecar kask-only → emulator', origin: kaskOnly.origin, proxy: [kaskOnly.pid] },
    { id: 'mig', label: 'sidecar migration, Kask hits', origin: migration.origin, proxy: [migration.pid] },
    {
      id: 'fb',
      label: 'sidecar migration, Redis fallback',
      origin: migration.origin,
      proxy: [migration.pid],
      fallback: true,
    },
  ];
  const rounds = [];
  let fbRpsGuess = 20_000;

  async function throughput(t) {
    const pids = [t.proxy, [emu.pid], redisPids];
    let before = null;
    if (t.fallback) {
      await ensureFallbackKeys((WARMUP + DURATION) * fbRpsGuess * 1.5 + 2000);
      if (WARMUP > 0) takeFallbackKeys((await runWrk(t.origin + KEY_PATH, WARMUP, fbNext)).requests);
      before = await readsBySource(t.origin);
    } else if (WARMUP > 0) await runWrk(t.origin + KEY_PATH, WARMUP);
    await settle(pids.flat());
    const c0 = pids.map(ticksOf);
    const noise = foreignLoad(DURATION);
    const w = await runWrk(t.origin + KEY_PATH, DURATION, t.fallback ? fbNext : null);
    Object.assign(w, await noise);
    await settle(pids.flat());
    const c1 = pids.map(ticksOf);
    if (t.fallback) {
      takeFallbackKeys(w.requests);
      fbRpsGuess = Math.max(1000, w.rps);
      w.sources = diffCounts(before, await readsBySource(t.origin));
    }
    const perReq = c0.map((v, i) => (((c1[i] - v) / CLK_TCK) * 1e6) / w.requests);
    w.proxyUs = t.proxy.length ? perReq[0] : Number.NaN;
    w.proxyUtil = ((c1[0] - c0[0]) / CLK_TCK / (w.duration_us / 1e6)) * 100;
    w.emuUs = perReq[1];
    w.redisUs = perReq[2];
    return w;
  }

  async function fixedRate(t) {
    const pids = [t.proxy, [emu.pid], redisPids];
    let url = t.origin + KEY_PATH;
    let start = 0;
    let before = null;
    if (t.fallback) {
      const n = (WARMUP + DURATION) * RATE + 10;
      await ensureFallbackKeys(n);
      url = `${t.origin}${FALLBACK_PATH_PREFIX}{n}`;
      start = fbNext + 1;
      takeFallbackKeys(n);
      before = await readsBySource(t.origin);
    }
    const stop = new AbortController();
    const noise = foreignLoad(WARMUP + DURATION, stop.signal);
    const r = await runRate([url, emu.origin + KEY_PATH], pids, start);
    stop.abort();
    Object.assign(r, await noise);
    if (t.fallback) r.sources = diffCounts(before, await readsBySource(t.origin));
    return r;
  }

  for (let round = 0; round < ROUNDS; round++) {
    const res = {};
    rounds.push(res);
    // Max throughput, closed loop.
    for (const t of targets) {
      const w = await undisturbed(`round ${round + 1}/${ROUNDS}: max throughput, ${t.label}`, () =>
        throughput(t),
      );
      res[t.id] = { thr: w };
      process.stderr.write(`${f0(w.rps)} req/s\n`);
    }
    // Fixed rate, open loop, latency from the intended send time; every proxy paired with the direct emulator.
    for (const t of targets) {
      if (t.id === 'direct') continue;
      const r = await undisturbed(
        `round ${round + 1}/${ROUNDS}: ${RATE} req/s, ${t.label} (paired with direct)`,
        () => fixedRate(t),
      );
      res[t.id].rate = r;
      process.stderr.write(
        `p50 ${ms(r.p50_us)} ms, p99 ${ms(r.p99_us)} ms (direct: p50 ${ms(r.base.p50_us)}, p99 ${ms(r.base.p99_us)})\n`,
      );
    }
  }
  await report(targets, rounds, Date.now() - started);
}

/** Other processes' CPU (% of one core) above which a run is reported as disturbed. */
const NOISY_PCT = 15;
const added = (rate, field) => rate[field] - rate.base[field];
const errorsOf = (x) => x.errors + x.non200 + x.unanswered;

function buildIdentity() {
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

async function report(targets, rounds, elapsedMs) {
  const med = (id, kind, field) => median(rounds.map((r) => r[id][kind][field]));
  say('');
  say(
    `Max throughput (wrk, ${CONNECTIONS} connections, ${DURATION} s; median of ${rounds.length} round(s)):`,
  );
  say(
    table(
      [
        'target',
        'req/s',
        'p50 ms',
        'p99 ms',
        'proxy µs/req',
        'proxy CPU %',
        'emulator µs/req',
        'redis µs/req',
        'errors',
        'other load % max',
      ],
      targets.map((t) => [
        t.label,
        f0(med(t.id, 'thr', 'rps')),
        ms(med(t.id, 'thr', 'p50_us')),
        ms(med(t.id, 'thr', 'p99_us')),
        f1(med(t.id, 'thr', 'proxyUs')),
        t.proxy.length ? f0(med(t.id, 'thr', 'proxyUtil')) : '–',
        f1(med(t.id, 'thr', 'emuUs')),
        t.fallback ? f1(med(t.id, 'thr', 'redisUs')) : '–',
        rounds.reduce((a, r) => a + r[t.id].thr.errors + r[t.id].thr.status, 0),
        f0(Math.max(...rounds.map((r) => r[t.id].thr.otherPct))),
      ]),
    ),
  );
  say('');
  say(
    `Fixed rate ${RATE} req/s (bench/rate.js, open loop, latency from the intended send time; each proxy run paired ` +
      `with a simultaneous ${RATE} req/s stream straight to the emulator, "added" = proxy − that stream; medians):`,
  );
  const paired = targets.filter((t) => t.id !== 'direct');
  const baseMed = (field) => median(rounds.flatMap((r) => paired.map((t) => r[t.id].rate.base[field])));
  say(
    table(
      [
        'target',
        'achieved',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'added p50',
        'added p99',
        'proxy µs/req',
        'gen lag p99',
        'errors',
        'other load % max',
      ],
      [
        [
          `${targets[0].label} (all paired runs)`,
          f0(baseMed('achieved_rps')),
          ms(baseMed('p50_us')),
          ms(baseMed('p99_us')),
          ms(baseMed('p999_us')),
          '–',
          '–',
          '–',
          '',
          rounds.reduce((a, r) => a + paired.reduce((b, t) => b + errorsOf(r[t.id].rate.base), 0), 0),
          '',
        ],
        ...paired.map((t) => [
          t.label,
          f0(med(t.id, 'rate', 'achieved_rps')),
          ms(med(t.id, 'rate', 'p50_us')),
          ms(med(t.id, 'rate', 'p99_us')),
          ms(med(t.id, 'rate', 'p999_us')),
          ms(median(rounds.map((r) => added(r[t.id].rate, 'p50_us')))),
          ms(median(rounds.map((r) => added(r[t.id].rate, 'p99_us')))),
          f1(med(t.id, 'rate', 'proxyUs')),
          ms(med(t.id, 'rate', 'send_lag_p99_us')),
          rounds.reduce((a, r) => a + errorsOf(r[t.id].rate), 0),
          f0(Math.max(...rounds.map((r) => r[t.id].rate.otherPct))),
        ]),
      ],
    ),
  );
  const fbSources = rounds.map((r) => [r.fb.thr.sources, r.fb.rate.sources]);
  say(`fallback runs, read sources per run: ${JSON.stringify(fbSources)}`);

  // SPEC §8 targets, per round and as the median.
  const per = (fn) => rounds.map(fn);
  const checks = [
    {
      name: 'CPU per proxied request vs nginx, max load',
      target: '≤ 2×',
      vals: per((r) => r.kaskonly.thr.proxyUs / r.nginx.thr.proxyUs),
      fmt: (x) => `${f2(x)}×`,
      ok: (x) => x <= 2,
    },
    {
      name: `CPU per proxied request vs nginx, ${RATE} req/s`,
      target: '≤ 2×',
      vals: per((r) => r.kaskonly.rate.proxyUs / r.nginx.rate.proxyUs),
      fmt: (x) => `${f2(x)}×`,
      ok: (x) => x <= 2,
    },
    {
      name: `p99 added latency at ${RATE} req/s (sidecar − direct)`,
      target: '< 1 ms',
      vals: per((r) => added(r.kaskonly.rate, 'p99_us') / 1000),
      fmt: (x) => `${f2(x)} ms`,
      ok: (x) => x < 1,
    },
    {
      name: 'throughput vs nginx, Kask hits',
      target: '≥ 70%',
      vals: per((r) => (100 * r.kaskonly.thr.rps) / r.nginx.thr.rps),
      fmt: (x) => `${f0(x)}%`,
      ok: (x) => x >= 70,
    },
  ];
  const info = [
    [
      'nginx p99 added latency (reference)',
      per((r) => added(r.nginx.rate, 'p99_us') / 1000),
      (x) => `${f2(x)} ms`,
    ],
    [
      'migration Kask hits: throughput vs kask-only',
      per((r) => (100 * r.mig.thr.rps) / r.kaskonly.thr.rps),
      (x) => `${f0(x)}%`,
    ],
    [
      'migration Kask hits: CPU/req vs kask-only',
      per((r) => r.mig.thr.proxyUs / r.kaskonly.thr.proxyUs),
      (x) => `${f2(x)}×`,
    ],
    [
      'migration Kask hits: p99 added at rate',
      per((r) => added(r.mig.rate, 'p99_us') / 1000),
      (x) => `${f2(x)} ms`,
    ],
    [
      'fallback hits: throughput vs kask-only',
      per((r) => (100 * r.fb.thr.rps) / r.kaskonly.thr.rps),
      (x) => `${f0(x)}%`,
    ],
    [
      'fallback hits: CPU/req vs kask-only (max load)',
      per((r) => r.fb.thr.proxyUs / r.kaskonly.thr.proxyUs),
      (x) => `${f2(x)}×`,
    ],
    [
      'fallback hits: CPU/req vs kask-only (at rate)',
      per((r) => r.fb.rate.proxyUs / r.kaskonly.rate.proxyUs),
      (x) => `${f2(x)}×`,
    ],
    ['fallback hits: p99 added at rate', per((r) => added(r.fb.rate, 'p99_us') / 1000), (x) => `${f2(x)} ms`],
    [
      'bare Node proxy p99 added latency (reference)',
      per((r) => added(r.bare.rate, 'p99_us') / 1000),
      (x) => `${f2(x)} ms`,
    ],
    [
      'bare Node proxy CPU/req vs nginx (max load)',
      per((r) => r.bare.thr.proxyUs / r.nginx.thr.proxyUs),
      (x) => `${f2(x)}×`,
    ],
    [
      'bare Node proxy CPU/req vs nginx (at rate)',
      per((r) => r.bare.rate.proxyUs / r.nginx.rate.proxyUs),
      (x) => `${f2(x)}×`,
    ],
    [
      'sidecar CPU/req vs bare Node proxy (max load)',
      per((r) => r.kaskonly.thr.proxyUs / r.bare.thr.proxyUs),
      (x) => `${f2(x)}×`,
    ],
    [
      'sidecar CPU/req vs bare Node proxy (at rate)',
      per((r) => r.kaskonly.rate.proxyUs / r.bare.rate.proxyUs),
      (x) => `${f2(x)}×`,
    ],
    [
      'sidecar CPU/req vs a direct emulator request (max load)',
      per((r) => r.kaskonly.thr.proxyUs / r.direct.thr.emuUs),
      (x) => `${f2(x)}×`,
    ],
  ];
  say('');
  say('SPEC §8 targets (kask-only sidecar; ratios to baselines from the same round):');
  let missed = 0;
  say(
    table(
      ['ratio', 'target', 'median', 'per round', 'verdict'],
      checks.map((c) => {
        const m = median(c.vals);
        const ok = c.ok(m);
        if (!ok) missed++;
        const okRounds = c.vals.filter(c.ok).length;
        return [
          c.name,
          c.target,
          c.fmt(m),
          c.vals.map(c.fmt).join(' / '),
          `${ok ? 'met' : 'MISSED'} (${okRounds}/${c.vals.length} rounds)`,
        ];
      }),
    ),
  );
  say('');
  say('Migration phase and references (informational):');
  say(
    table(
      ['ratio', 'median', 'per round'],
      info.map(([n, v, fmt]) => [n, fmt(median(v)), v.map(fmt).join(' / ')]),
    ),
  );
  say('');
  const noisy = [];
  rounds.forEach((r, i) => {
    for (const t of targets) {
      for (const kind of ['thr', 'rate']) {
        const x = r[t.id][kind];
        if (x && x.otherPct > NOISY_PCT)
          noisy.push(
            `round ${i + 1} ${kind === 'thr' ? 'max load' : `${RATE} req/s`} ${t.label}: ${f0(x.otherPct)}%`,
          );
      }
    }
  });
  if (noisy.length) {
    say('');
    say(
      `WARNING: other processes used more than ${NOISY_PCT}% of a core during ${noisy.length} run(s); their numbers ` +
        'are disturbed (latency most, CPU per request least). Rerun on a quiet machine:',
    );
    for (const n of noisy) say(`  ${n}`);
  }
  say(
    `${(elapsedMs / 1000).toFixed(0)} s. Caveat: 2 cores shared by the load generator, the proxy and the emulator; ` +
      'compare ratios, not absolute numbers (bench/README.md).',
  );
  if (opt.json) {
    writeFileSync(
      opt.json,
      `${JSON.stringify({ options: { DURATION, WARMUP, CONNECTIONS, RATE }, rounds }, null, 2)}\n`,
    );
    say(`raw results: ${opt.json}`);
  }
  if (opt.strict && missed > 0) process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------------------------
// --profile: where does the sidecar's time go at max load?

async function profileMode() {
  const { summariseProfile, formatSummary } = await import('./profile-summary.js');
  const dir = opt['profile-dir'] ?? mkdtempSync(join(tmpdir(), 'kmp-bench-profiles-'));
  mkdirSync(dir, { recursive: true });
  const emu = await startEmulator();
  await fetch(emu.origin + KEY_PATH, { method: 'POST', body: VALUE });
  localRedis = await startLocalRedis(bins['redis-server']);
  const { Redis } = await import('ioredis');
  redisClient = new Redis(localRedis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redisClient.connect();
  const cases = [
    { name: 'kask-only', phase: 'kask-only', fallback: false },
    { name: 'migration-kask-hits', phase: 'migration', fallback: false },
    { name: 'migration-fallback', phase: 'migration', fallback: true },
  ];
  for (const c of cases) {
    const sub = join(dir, c.name);
    mkdirSync(sub, { recursive: true });
    const sc = await startSidecar(c.name, c.phase, emu.url, localRedis.url, [
      '--cpu-prof',
      '--cpu-prof-dir',
      sub,
      '--cpu-prof-interval',
      '100',
    ]);
    await expectValue(sc.origin, KEY_PATH, c.name);
    let w;
    if (c.fallback) {
      await ensureFallbackKeys((WARMUP + DURATION) * 40_000);
      w = await runWrk(sc.origin + KEY_PATH, WARMUP + DURATION, fbNext);
      takeFallbackKeys(w.requests);
    } else {
      w = await runWrk(sc.origin + KEY_PATH, WARMUP + DURATION);
    }
    await settle([sc.pid]);
    await stopProc(sc.rec, 'SIGTERM', 15_000); // the profile is written as the process exits
    const file = readdirSync(sub).find((f) => f.endsWith('.cpuprofile'));
    say(`\n== ${c.name}: ${f0(w.rps)} req/s under the profiler (not comparable to a normal run)`);
    if (!file) {
      say('   no .cpuprofile written (did the sidecar exit cleanly?)');
      continue;
    }
    say(`   ${join(sub, file)}`);
    say(formatSummary(summariseProfile(JSON.parse(readFileSync(join(sub, file), 'utf8'))), 30));
  }
  say(
    `\nprofiles kept in ${dir} (open them in Chrome DevTools › Performance, or run bench/profile-summary.js)`,
  );
}

try {
  await main();
} catch (err) {
  if (!interrupted) process.stderr.write(`\nbench failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  if (redisClient) redisClient.disconnect();
  await cleanup();
}
