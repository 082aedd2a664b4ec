// CPU time from /proc: per process (utime+stime), and the whole machine's, to tell our load from everyone else's.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function procStat(pid: number): { ppid: number; ticks: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}

/** utime+stime of the processes, in clock ticks (processes that are gone count 0). */
export function ticksOf(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      t += procStat(pid).ticks;
    } catch {}
  }
  return t;
}

export const ticksToUs = (ticks: number): number => (ticks / CLK_TCK) * 1e6;

export function childrenOf(ppid: number, comm: string | null = null): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (procStat(Number(name)).ppid !== ppid) continue;
      if (comm && readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== comm) continue;
      out.push(Number(name));
    } catch {}
  }
  return out;
}

/** Waits until the processes are idle again (background backfills done), at most 4 s. */
export async function settle(pids: number[]): Promise<void> {
  let prev = ticksOf(pids);
  for (let i = 0; i < 40; i++) {
    await sleep(100);
    const now = ticksOf(pids);
    if (now - prev <= 1) return;
    prev = now;
  }
}

/** Busy ticks of the whole machine (irq/softirq left out: loopback delivery is charged to no process). */
function machineBusy(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]!;
}

/**
 * Measures, over `fn`, the CPU that processes other than `ours()` used on this machine, in % of one core. Other
 * engineers' test runs on the same cores show up here: a run with much of it is not to be trusted.
 */
export async function withForeignLoad<T>(ours: () => number[], fn: () => Promise<T>): Promise<[T, number]> {
  const pids0 = ours();
  const before = new Map(pids0.map((p) => [p, ticksOf([p])]));
  const busy0 = machineBusy();
  const t0 = performance.now();
  const result = await fn();
  const wallS = (performance.now() - t0) / 1000;
  let mine = 0;
  for (const [pid, t] of before) mine += Math.max(0, ticksOf([pid]) - t);
  for (const pid of ours()) if (!before.has(pid)) mine += ticksOf([pid]); // e.g. the load generator
  const other = (100 * Math.max(0, machineBusy() - busy0 - mine)) / CLK_TCK / wallS;
  return [result, other];
}

/** Waits (at most `budgetS`) until other processes use under a tenth of a core; returns the seconds spent. */
export async function awaitQuiet(ours: () => number[], budgetS: number): Promise<number> {
  let spent = 0;
  while (spent < budgetS) {
    const [, other] = await withForeignLoad(ours, () => sleep(500));
    if (other < 10) break;
    spent += 0.5;
  }
  return spent;
}
