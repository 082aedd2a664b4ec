// The processes under test: the Kask emulator, nginx, the raw-socket forwarder and sidecars, all on 127.0.0.1.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../src/redis/local-server.js';
import { childrenOf } from './cpu.js';
import { announcedPort, start, type Tracked, waitForOutput } from './processes.js';

/** The repository root (this file runs from <root>/dist-bench/bench/lib/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'kask-migration-proxy.js');
/** Another build of the project (a checkout with dist/ built) to run baseline sidecars from, for before/after rows. */
export const binOf = (root: string): string => join(root, 'bin', 'kask-migration-proxy.js');
const FORWARDER = join(ROOT, 'dist-bench', 'bench', 'raw-forwarder.js');

export const BASE = '/echoseen/v1/';
/** MediaWiki's Echo seen-time key, as RESTBagOStuff puts it on the wire. */
export const KEY_PATH = `${BASE}global%3Aecho%3Aseen%3Aalert%3Atime%3A12345`;
export const VALUE = 'JSON.."20261125112233"';
/** The same seen-time as RedisBagOStuff stores it. */
export const REDIS_VALUE = 's:14:"20261125112233";';

export interface Target {
  name: string;
  origin: string;
  /** The proxying process(es) whose CPU is charged to each request (nginx: master + worker). */
  pids: number[];
  rec: Tracked;
}

export async function startEmulator(node: string): Promise<Target> {
  const rec = start('kask emulator', node, [
    BIN,
    'kask-emulator',
    '--listen',
    '127.0.0.1:0',
    '--base-uri',
    BASE,
    '--default-ttl',
    '31536000',
  ]);
  const port = await waitForOutput(rec, announcedPort, 15_000);
  return { name: 'emulator', origin: `http://127.0.0.1:${port}`, pids: [rec.pid], rec };
}

export async function startForwarder(node: string, upstream: string, label: string): Promise<Target> {
  const rec = start(`raw forwarder (${label})`, node, [FORWARDER, '0', new URL(upstream).host]);
  const port = await waitForOutput(rec, announcedPort, 15_000);
  return { name: rec.name, origin: `http://127.0.0.1:${port}`, pids: [rec.pid], rec };
}

export interface SidecarSpec {
  name: string;
  phase: 'kask-only' | 'migration';
  backfill: boolean;
  kaskUrl: string;
  redisUrl: string;
  node: string;
  nodeArgs?: string[];
  /** The project checkout to run (default: this one). */
  root?: string;
}

/**
 * The Node options the sidecar is deployed with (NODE_OPTIONS of its container in
 * deploy/kubernetes/sidecar/sidecar-patch.yaml), so the bench measures it as it runs; read, not copied, so they
 * cannot drift apart.
 */
export function deployedNodeOptions(): string[] {
  const patch = parseYaml(
    readFileSync(join(ROOT, 'deploy/kubernetes/sidecar/sidecar-patch.yaml'), 'utf8'),
  ) as {
    spec: {
      template: {
        spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> };
      };
    };
  };
  const container = patch.spec.template.spec.containers.find((c) => c.name === 'kask-migration-proxy');
  const value = container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  return value.split(/\s+/).filter(Boolean);
}

/**
 * A sidecar configured as in production apart from addresses (info logs, metrics on, default timeouts/pools), run
 * with the deployed Node options.
 */
export async function startSidecar(spec: SidecarSpec, tmp: string): Promise<Target> {
  const port = await freePort();
  const config = join(tmp, `${spec.name.replace(/[^a-z0-9-]+/gi, '_')}.yaml`);
  writeFileSync(
    config,
    [
      `phase: ${spec.phase}`,
      `listen: 127.0.0.1:${port}`,
      `base_uri: ${BASE}`,
      'kask:',
      `  url: ${spec.kaskUrl}`,
      'redis:',
      `  url: ${spec.redisUrl}`,
      'values:',
      '  envelope_type: JSON',
      'migration:',
      `  backfill: ${spec.backfill}`,
      'admin:',
      '  listen: null',
      'logging:',
      '  level: info',
      '',
    ].join('\n'),
  );
  const rec = start(`sidecar ${spec.name}`, spec.node, [
    ...deployedNodeOptions(),
    ...(spec.nodeArgs ?? []),
    spec.root ? binOf(spec.root) : BIN,
    'serve',
    '--config',
    config,
  ]);
  await waitForOutput(rec, (t) => (t.includes('serving Kask API') ? true : null), 20_000);
  return { name: spec.name, origin: `http://127.0.0.1:${port}`, pids: [rec.pid], rec };
}

export async function startNginx(nginxBin: string, emulatorOrigin: string, tmp: string): Promise<Target> {
  const port = await freePort();
  const dir = join(tmp, 'nginx');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `# Written by the bench: one worker (to compare with one Node process), upstream keepalive pool.
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
    server ${new URL(emulatorOrigin).host};
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
  const rec = start('nginx', nginxBin, ['-p', `${dir}/`, '-c', conf, '-e', `${dir}/error.log`]);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  const errorLog = () => {
    try {
      return readFileSync(`${dir}/error.log`, 'utf8').slice(-2000);
    } catch {
      return '';
    }
  };
  for (;;) {
    if (rec.exited) throw new Error(`nginx exited at start:\n${rec.tail}${errorLog()}`);
    try {
      await (await fetch(origin + KEY_PATH)).arrayBuffer();
      break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`nginx not ready within 10 s:\n${errorLog()}`);
    await sleep(50);
  }
  const workers = childrenOf(rec.pid);
  if (workers.length === 0) throw new Error('nginx has no worker process');
  return { name: 'nginx', origin, pids: [rec.pid, ...workers], rec };
}

/** Every target must answer the Echo value byte for byte before anything is measured. */
export async function expectValue(origin: string, path: string, what: string): Promise<void> {
  const res = await fetch(origin + path);
  const body = await res.text();
  if (res.status !== 200 || body !== VALUE)
    throw new Error(`${what}: GET ${path} answered ${res.status} ${JSON.stringify(body.slice(0, 200))}`);
}
