// Load generators: wrk (closed loop, fixed connections: max throughput) and rate.js (open loop, fixed rate,
// paired with the direct emulator: added latency without coordinated omission).
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MEDIAWIKI_HEADERS } from './mediawiki-headers.js';
import { start, stop } from './processes.js';
import { ROOT } from './targets.js';

const WRK_DIR = join(ROOT, 'bench', 'wrk');
const RATE_JS = join(ROOT, 'dist-bench', 'bench', 'rate.js');

export interface WrkResult {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
  rps: number;
  errors: number;
}

/** What each request does: read one URL, read fresh keys `<prefix><n>`, or POST fresh keys. */
export type WrkShape =
  | { kind: 'static'; url: string }
  | { kind: 'distinct-reads'; origin: string; prefix: string; from: number }
  | { kind: 'writes'; origin: string; prefix: string; from: number; value: string };

export async function runWrk(
  wrk: string,
  shape: WrkShape,
  seconds: number,
  connections: number,
): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '2s'];
  for (const [name, value] of Object.entries(MEDIAWIKI_HEADERS)) args.push('-H', `${name}: ${value}`);
  args.push('-s');
  if (shape.kind === 'static') args.push(join(WRK_DIR, 'report.lua'), shape.url);
  else if (shape.kind === 'distinct-reads')
    args.push(join(WRK_DIR, 'distinct-keys.lua'), shape.origin, '--', shape.prefix, String(shape.from));
  else
    args.push(
      join(WRK_DIR, 'post-keys.lua'),
      shape.origin,
      '--',
      shape.prefix,
      String(shape.from),
      shape.value,
    );
  const rec = start('wrk', wrk, args);
  let out = '';
  rec.child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const killer = setTimeout(() => void stop(rec, 'SIGKILL'), (seconds + 15) * 1000);
  const [code] = (await once(rec.child, 'exit')) as [number | null];
  clearTimeout(killer);
  const m = /WRKJSON (\{.*\})/.exec(out);
  if (code !== 0 || !m) throw new Error(`wrk failed (exit ${code}):\n${rec.tail}`);
  const r = JSON.parse(m[1]!) as Omit<WrkResult, 'rps' | 'errors'>;
  return {
    ...r,
    errors: r.connect + r.read + r.write + r.timeout + r.status,
    rps: r.requests / (r.duration_us / 1e6),
  };
}

export interface RateStream {
  answered: number;
  unanswered: number;
  errors: number;
  non200: number;
  p50_us: number;
  p99_us: number;
}

export interface RateResult {
  target: RateStream;
  direct: RateStream;
  sendLagP99Us: number;
  /** CPU ticks of each pid group between the measured window's start and its last answer. */
  ticks: number[];
}

/**
 * A fixed-rate run in its own process: `url` and `directUrl` each get the full rate with the same due times.
 * `cpu` is sampled when the measured window opens and once everything is answered (and settled).
 */
export async function runRate(
  node: string,
  opts: {
    url: string;
    directUrl: string;
    rate: number;
    warmup: number;
    duration: number;
    connections: number;
  },
  cpu: { sample: () => number[]; settle: () => Promise<void> },
): Promise<RateResult> {
  const args = [RATE_JS, '--rate', String(opts.rate), '--warmup', String(opts.warmup)];
  args.push('--duration', String(opts.duration), '--connections', String(opts.connections));
  args.push('--target', opts.url, '--target', opts.directUrl);
  const rec = start('rate.js', node, args);
  const killer = setTimeout(() => void stop(rec, 'SIGKILL'), (opts.warmup + opts.duration + 30) * 1000);
  let t0: number[] | null = null;
  let t1: number[] | null = null;
  type Result = { targets: RateStream[]; send_lag_p99_us: number };
  const got: { result: Result | null } = { result: null };
  for await (const line of createInterface({ input: rec.child.stdout! })) {
    let ev: { event?: string };
    try {
      ev = JSON.parse(line) as { event?: string };
    } catch {
      continue;
    }
    if (ev.event === 'start') t0 = cpu.sample();
    else if (ev.event === 'end') {
      await cpu.settle();
      t1 = cpu.sample();
    } else if (ev.event === 'result') got.result = ev as unknown as Result;
  }
  if (rec.child.exitCode === null) await once(rec.child, 'exit');
  clearTimeout(killer);
  const result = got.result;
  if (!result || !t0 || !t1) throw new Error(`rate.js failed:\n${rec.tail}`);
  const start0 = t0;
  return {
    target: result.targets[0]!,
    direct: result.targets[1]!,
    sendLagP99Us: result.send_lag_p99_us,
    ticks: t1.map((v, i) => v - start0[i]!),
  };
}
