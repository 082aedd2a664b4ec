// A real Prometheus (Debian's `prometheus` binary) for the deploy suites: a private config, a temporary TSDB, a free
// loopback port, a 1 s scrape and evaluation interval; and the few HTTP API calls the suites make.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../src/redis/local-server.js';
import { eventually } from '../support/wait.js';

/** True when `name` runs (`name --version`); the suites skip, saying so, only when the tool is missing. */
export function hasTool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface ScrapeJob {
  job: string;
  /** HOST:PORT of each target; /metrics is scraped. */
  targets: string[];
}

export interface RunningPrometheus {
  url: string;
  output(): string;
  /** GET /api/v1/<path>; throws unless Prometheus answers status "success". */
  api<T>(path: string, params?: Record<string, string>): Promise<T>;
  stop(): Promise<void>;
}

export async function startPrometheus(jobs: ScrapeJob[], ruleGroups: unknown[]): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'kmp-prometheus-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, stringify({ groups: ruleGroups }));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: [rulesFile],
      scrape_configs: jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: j.targets }] })),
    }),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const probe = async (): Promise<'exited' | 'ready' | 'starting'> => {
    if (child.exitCode !== null) return 'exited';
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    return ready ? 'ready' : 'starting';
  };
  const state = await eventually(probe, (s) => s !== 'starting', 20_000, 100);
  if (state !== 'ready') {
    await stop();
    throw new Error(
      state === 'exited'
        ? `prometheus exited with ${child.exitCode}:\n${out}`
        : `prometheus not ready within 20 s:\n${out}`,
    );
  }
  return {
    url,
    output: () => out,
    async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
      const res = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
      return body.data;
    },
    stop,
  };
}
