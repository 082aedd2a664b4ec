// A real Redis Cluster for tests: `masters` redis-server processes with --cluster-enabled on free loopback ports,
// joined by `redis-cli --cluster create … --cluster-replicas 0`, ready once every node reports cluster_state:ok.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from '../../src/redis/local-server.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface LocalCluster {
  /** `host:port` of every master. */
  nodes: string[];
  /** A node's URL: what `--redis-url` takes (the tools find the rest of the cluster). */
  url: string;
  /** A cluster client for seeding and inspecting. */
  client: Cluster;
  stop(): Promise<void>;
}

export async function startLocalCluster(masters = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kmp-cluster-'));
  const ports: number[] = [];
  while (ports.length < masters) {
    const port = await freePort();
    // Cluster nodes also listen on port + 10000 (the bus): keep both free and distinct.
    if (port + 10000 < 65536 && !ports.includes(port)) ports.push(port);
  }
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = once(c, 'exit');
        c.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      await waitForLine(child, 'Ready to accept connections');
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    await waitClusterOk(ports);
    const client = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    await client.ping();
    return {
      nodes,
      url: `redis://127.0.0.1:${ports[0]}`,
      client,
      async stop() {
        client.disconnect();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitClusterOk(ports: number[]): Promise<void> {
  const ok = async (): Promise<boolean> => {
    const states = await Promise.all(
      ports.map(async (port) => {
        const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
        try {
          await c.connect();
          return /cluster_state:ok/.test(await c.cluster('INFO'));
        } finally {
          c.disconnect();
        }
      }),
    );
    return states.every(Boolean);
  };
  await waitFor(ok, 20_000, 'Redis Cluster to reach cluster_state:ok', 200);
}

function waitForLine(child: ChildProcess, text: string): Promise<void> {
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      log += c.toString();
      if (log.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${log}`));
    });
  });
}
