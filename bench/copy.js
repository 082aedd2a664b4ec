#!/usr/bin/env node
// `npm run bench:copy`: the bulk copy end to end on real processes, at growing sizes, so its scaling is visible.
// For each size: a private redis-server seeded with Echo keys through `redis-cli --pipe`, a Kask emulator process,
// and `kask-migration-proxy copy` copying every key into it. Prints keys/s end to end, the copier's own CPU µs per
// key (utime+stime from /proc/<pid>/stat) and its peak RSS (VmHWM from /proc/<pid>/status).
//
// Plain ESM, no build step: it imports the compiled project from ../dist (the npm script builds first). Everything
// started here is stopped at the end, on errors and on Ctrl-C.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalRedis } from '../dist/redis/local-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'kask-migration-proxy.js');
const HELP = `Usage: npm run bench:copy [-- options]     (or: node bench/copy.js [options] after npm run build)

Seeds a private redis-server with N Echo seen-time keys (redis-cli --pipe), copies them into a Kask emulator with
'kask-migration-proxy copy', and prints per size: keys/s end to end, the copier's CPU µs per key and its peak RSS.

Options:
  --sizes LIST        comma-separated key counts (default 100000,1000000)
  --10m               also run 10,000,000 keys (needs about 4 GB of free memory for the emulator)
  --concurrency N     the copier's --concurrency (default 64)
  --pipeline LIST     comma-separated values of the copier's --pipeline, each run at every size (default 1,8)
  --node-options S    Node options of the copier (default --max-semi-space-size=8, as the copy Job in
                      deploy/kubernetes/ runs it; '' for Node's defaults)
  --json FILE         also write the results as JSON
  -h, --help          this text

Targets (issue 10, on a 2-core machine where the emulator shares the cores): >= 8,000 keys/s end to end, copier CPU
<= 50 µs per key, peak RSS < 200 MB at 10M keys and flat across sizes. On a shared machine the numbers are noisy.
`;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    '10m': { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '64' },
    pipeline: { type: 'string', default: '1,8' },
    'node-options': { type: 'string', default: '--max-semi-space-size=8' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
for (const tool of ['redis-server', 'redis-cli']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    process.stderr.write(`bench:copy needs ${tool} (apt-get install -y redis-server)\n`);
    process.exit(2);
  }
}
const sizes = values.sizes.split(',').map(Number);
const pipelines = values.pipeline.split(',').map(Number);
if (pipelines.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 64)) {
  process.stderr.write(`--pipeline must be whole numbers from 1 to 64, got "${values.pipeline}"\n`);
  process.exit(2);
}
if (values['10m']) sizes.push(10_000_000);
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) {
  process.stderr.write(`--sizes must be whole numbers, got "${values.sizes}"\n`);
  process.exit(2);
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const cleanups = [];
const cleanup = async () => {
  while (cleanups.length > 0)
    await cleanups
      .pop()()
      .catch(() => {});
};
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => cleanup().then(() => process.exit(130)));

/** RESP for SET key value, Echo-shaped: what MediaWiki's RedisBagOStuff leaves in Redis. */
function* seedCommands(count) {
  const value = 's:14:"20261125112233";';
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const key = `global:echo:seen:alert:time:${i}`;
    chunk += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function seed(port, count) {
  const cli = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  cli.stdout.on('data', (c) => {
    out += c;
  });
  for (const chunk of seedCommands(count)) if (!cli.stdin.write(chunk)) await once(cli.stdin, 'drain');
  cli.stdin.end();
  const [code] = await once(cli, 'exit');
  if (code !== 0 || !/errors: 0/.test(out)) throw new Error(`redis-cli --pipe failed:\n${out}`);
}

async function startEmulator() {
  const child = spawn(
    process.execPath,
    [BIN, 'kask-emulator', '--listen', '127.0.0.1:0', '--default-ttl', '0'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => {
      out += c;
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    },
  };
}

/** utime+stime (s) and VmHWM (bytes) of a live process, or null once it is gone. */
function sample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu, hwm: hwm ? Number(hwm[1]) * 1024 : 0 };
  } catch {
    return null;
  }
}

async function runCopy(redisUrl, kaskUrl, pipeline) {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...values['node-options'].split(' ').filter(Boolean),
      BIN,
      'copy',
      '--redis-url',
      redisUrl,
      '--kask-url',
      kaskUrl,
      '--concurrency',
      values.concurrency,
      '--pipeline',
      String(pipeline),
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  // The copier's JSON progress lines (stderr) are relayed every 10 s, so a long run shows it is moving.
  let progress = null;
  let partial = '';
  child.stderr.on('data', (c) => {
    stderr = (stderr + c).slice(-8000);
    const lines = (partial + c).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.includes('"copy.progress"')) progress = JSON.parse(line);
  });
  const relay = setInterval(() => {
    if (progress === null) return;
    const { scanned, estimated_keys: estimate, keys_per_second: rate, eta_seconds: eta } = progress;
    process.stderr.write(
      `\n  … ${scanned} of ~${estimate} keys scanned, ${rate} keys/s, about ${Math.round(eta ?? 0)} s to go`,
    );
  }, 10_000);
  let last = { cpu: 0, hwm: 0 };
  const exited = once(child, 'exit');
  let done = false;
  exited.then(() => {
    done = true;
  });
  // The last sample is at most 50 ms before the exit: the CPU it misses is noise next to the run.
  while (!done) {
    const s = sample(child.pid);
    // An exited, not yet reaped process still has its CPU in /proc but no memory (VmHWM gone): keep the peak.
    if (s) last = { cpu: s.cpu, hwm: Math.max(last.hwm, s.hwm) };
    await Promise.race([sleep(50), exited]);
  }
  const [code] = await exited;
  clearInterval(relay);
  const seconds = (performance.now() - started) / 1000;
  // Exit 1 (some keys failed, e.g. Kask timeouts on a starved machine) still measures the run: failures are reported.
  if (code !== 0 && code !== 1) throw new Error(`copy exited with ${code}:\n${stderr.slice(-2000)}`);
  return { report: JSON.parse(stdout), seconds, cpuSeconds: last.cpu, peakRss: last.hwm };
}

const results = [];
try {
  for (const size of sizes)
    for (const pipeline of pipelines) {
      const redis = await startLocalRedis();
      cleanups.push(() => redis.stop());
      const emulator = await startEmulator();
      cleanups.push(() => emulator.stop());
      process.stderr.write(`${size} keys, --pipeline ${pipeline}: seeding… `);
      const seedStart = performance.now();
      await seed(redis.port, size);
      process.stderr.write(`${((performance.now() - seedStart) / 1000).toFixed(1)} s; copying… `);
      const emulatorBefore = sample(emulator.pid);
      const run = await runCopy(redis.url, emulator.url, pipeline);
      const emulatorAfter = sample(emulator.pid);
      process.stderr.write(`\n  copied in ${run.seconds.toFixed(1)} s\n`);
      if (run.report.copied + run.report.failed !== size)
        throw new Error(`copied ${run.report.copied} and failed ${run.report.failed} of ${size} keys`);
      results.push({
        keys: size,
        pipeline,
        seconds: run.seconds,
        keys_per_second: size / run.seconds,
        copier_cpu_us_per_key: (run.cpuSeconds * 1e6) / size,
        copier_peak_rss_mb: run.peakRss / 2 ** 20,
        emulator_cpu_us_per_key: ((emulatorAfter.cpu - emulatorBefore.cpu) * 1e6) / size,
        failed: run.report.failed,
        failed_calls: run.report.failed_calls,
        load_average: readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
      });
      process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
      await cleanup();
    }
} finally {
  await cleanup();
}

const pad = (s, n) => String(s).padStart(n);
process.stdout.write(
  `\n${pad('keys', 10)} ${pad('pipeline', 8)} ${pad('keys/s', 9)} ${pad('copier µs/key', 14)} ${pad('peak RSS MB', 12)} ${pad('emulator µs/key', 16)} ${pad('failed', 7)} ${pad('load', 6)}\n`,
);
for (const r of results)
  process.stdout.write(
    `${pad(r.keys, 10)} ${pad(r.pipeline, 8)} ${pad(Math.round(r.keys_per_second), 9)} ${pad(r.copier_cpu_us_per_key.toFixed(1), 14)} ${pad(r.copier_peak_rss_mb.toFixed(0), 12)} ${pad(r.emulator_cpu_us_per_key.toFixed(1), 16)} ${pad(r.failed, 7)} ${pad(r.load_average, 6)}\n`,
  );
for (const r of results)
  if (Object.keys(r.failed_calls).length > 0)
    process.stdout.write(
      `${r.keys} keys, --pipeline ${r.pipeline}: failed calls (the copier's report) ${Object.entries(
        r.failed_calls,
      )
        .map(([what, n]) => `${what} ×${n}`)
        .join(', ')}\n`,
    );
process.stdout.write(
  `\nNode ${process.version}, copier options: ${values['node-options'] || '(none)'}; concurrency ${values.concurrency}.\n`,
);
process.stdout.write(
  `\nTargets: >= 8000 keys/s, copier <= 50 µs/key, peak RSS < 200 MB at 10M and flat. The load column is the\n1-minute load average at the end of each run: on a shared machine, compare numbers taken at similar load.\n`,
);
if (values.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
}
