#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by module, idle time left out.
// Usage: node dist-bench/bench/profile-summary.js FILE.cpuprofile [--top 25]   (after npm run bench:build)
//   or import { summariseProfile } from './profile-summary.js'.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
/** The parts of a V8 .cpuprofile this reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
interface Ranked {
  name: string;
  ms: number;
  pct: number;
}
export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: Ranked[];
  modules: Ranked[];
  inclusive: Ranked[];
}

/** Where a frame's code lives: an npm package, a file of dist/, a node: built-in group, or a V8 pseudo-frame. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle), (root)
    return '(native)';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return `dist/${url.slice(dist + 6)}`;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    // node:internal/http/... , node:internal/streams/... → two levels; node:http, node:net → one.
    return `node:${parts.slice(0, parts[0] === 'internal' && parts.length >= 3 ? 2 : parts.length).join('/')}`;
  }
  const slash = url.lastIndexOf('/');
  return slash === -1 ? url : url.slice(slash + 1);
}

export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the interval that follows a sample to it (next delta).
    const dt = timeDeltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const fns = new Map<string, number>();
  const mods = new Map<string, number>();
  // Inclusive: the time during which a module (npm package or dist/ file) was anywhere on the stack.
  const incl = new Map<string, number>();
  const stackModules = new Map<number, Set<string>>();
  const modulesOnStack = (id: number): Set<string> => {
    let set = stackModules.get(id);
    if (set) return set;
    set = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const { url, functionName } = byId.get(n)!.callFrame;
      const mod = moduleOf(url, functionName || '(anonymous)');
      if (mod.startsWith('npm:') || mod.startsWith('dist/')) set.add(mod);
    }
    stackModules.set(id, set);
    return set;
  };
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const mod = moduleOf(callFrame.url, name);
    const fnKey = `${name}  ${mod}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`;
    fns.set(fnKey, (fns.get(fnKey) ?? 0) + us);
    mods.set(mod, (mods.get(mod) ?? 0) + us);
    for (const m of modulesOnStack(id)) incl.set(m, (incl.get(m) ?? 0) + us);
  }
  const rank = (m: Map<string, number>): Ranked[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000, pct: busy ? (100 * us) / busy : 0 }));
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    functions: rank(fns),
    modules: rank(mods),
    inclusive: rank(incl),
  };
}

export function formatSummary(summary: ProfileSummary, top = 25): string {
  const lines: string[] = [];
  lines.push(
    `busy ${summary.busyMs.toFixed(0)} ms sampled (idle ${summary.idleMs.toFixed(0)} ms left out); self time:`,
  );
  lines.push('  self, by module:');
  for (const m of summary.modules.slice(0, Math.min(top, 18)))
    lines.push(`    ${m.pct.toFixed(1).padStart(5)}%  ${m.ms.toFixed(0).padStart(6)} ms  ${m.name}`);
  lines.push('  inclusive (on the stack at all: npm packages and dist/ files):');
  for (const m of summary.inclusive.slice(0, Math.min(top, 15)))
    lines.push(`    ${m.pct.toFixed(1).padStart(5)}%  ${m.ms.toFixed(0).padStart(6)} ms  ${m.name}`);
  lines.push('  self, by function:');
  for (const f of summary.functions.slice(0, top))
    lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist-bench/bench/profile-summary.js FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const topIdx = process.argv.indexOf('--top');
  const top = topIdx === -1 ? 25 : Number(process.argv[topIdx + 1]);
  process.stdout.write(
    `${formatSummary(summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile), top)}\n`,
  );
}
