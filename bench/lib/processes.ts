// Every process the bench starts is tracked here and stopped at the end, on errors and on Ctrl-C.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Tracked {
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last few KB of its stdout and stderr, for error messages. */
  tail: string;
  exited: boolean;
}

const procs = new Set<Tracked>();
const cleanups: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | null = null;

/** Starts `command` with piped output and tracks it. */
export function start(name: string, command: string, args: string[]): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const rec: Tracked = { name, child, pid: child.pid ?? -1, tail: '', exited: false };
  const keep = (chunk: Buffer): void => {
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

export function running(): Tracked[] {
  return [...procs];
}

export async function stop(rec: Tracked, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  const { child } = rec;
  if (rec.exited || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit').catch(() => {});
  child.kill(signal);
  if ((await Promise.race([exited, sleep(graceMs).then(() => 'timeout' as const)])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Runs at cleanup, after every tracked process is stopped (e.g. the private redis-server). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled([...procs].map((r) => stop(r)));
    for (const fn of cleanups) await fn().catch(() => {});
  })();
  return cleaning;
}

/** Ctrl-C, SIGTERM and a hard time limit all stop everything we started. */
export function installExitHandlers(hardLimitS: number): void {
  process.on('exit', () => {
    for (const r of procs) r.child.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}; stopping every process it started\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  setTimeout(() => {
    process.stderr.write(`bench: still running after ${hardLimitS} s; aborting\n`);
    void cleanup().finally(() => process.exit(1));
  }, hardLimitS * 1000).unref();
}

/** Resolves with `pick(output so far)` once it is non-null; rejects if the process exits or the time runs out. */
export function waitForOutput<T>(
  rec: Tracked,
  pick: (text: string) => T | null,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (err: Error | null, val?: T): void => {
      clearTimeout(timer);
      rec.child.stdout?.off('data', onData);
      rec.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(val as T);
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString();
      const got = pick(buf);
      if (got !== null) done(null, got);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`${rec.name} exited (${signal ?? code}) before it was ready:\n${rec.tail}`));
    const timer = setTimeout(
      () => done(new Error(`${rec.name} not ready within ${timeoutMs} ms:\n${rec.tail}`)),
      timeoutMs,
    );
    rec.child.stdout?.on('data', onData);
    rec.child.once('exit', onExit);
  });
}

/** A `{"port": N}` announcement on stdout. */
export const announcedPort = (text: string): number | null => {
  const m = /"port":\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
};

export function findBinary(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']) {
    try {
      const p = join(dir, name);
      execFileSync('test', ['-x', p]);
      return p;
    } catch {}
  }
  return null;
}

/** The Node 24 binary (`npx -y -p node@24`), run directly so /proc shows the proxy itself, not npx. */
export function node24Path(): string {
  const out = execFileSync('npx', ['-y', '-p', 'node@24', '--', 'node', '-p', 'process.execPath'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
  });
  return out.toString().trim().split('\n').at(-1)!;
}
