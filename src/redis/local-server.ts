// A private redis-server child process on a free loopback port: the embedded default's Redis, and every test's.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalRedis {
  port: number;
  url: string;
  /** SIGKILL: the abrupt loss a fault test wants. */
  kill(): Promise<void>;
  /** Starts again on the same port (data is gone unless started with `persist`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Asks the OS for a free loopback port (released again before use; fine for tests and local runs). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, 'close');
  return port;
}

export interface LocalRedisOptions {
  /**
   * Keep data across kill/restart (append-only file, fsync on every write), as a production Redis with AOF does:
   * what fault tests need to kill Redis without turning the kill into a data wipe.
   */
  persist?: boolean;
}

export async function startLocalRedis(
  binary = 'redis-server',
  opts: LocalRedisOptions = {},
): Promise<LocalRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kmp-redis-'));
  const durability = opts.persist
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...durability, '--dir', dir];
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await waitUntilReady(proc);
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function waitUntilReady(proc: ChildProcess): Promise<void> {
  let log = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start within 10 s:\n${log}`)),
      10_000,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    proc.stdout!.on('data', (c: Buffer) => {
      log += c.toString();
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('error', (err) => fail(new Error(`cannot start redis-server: ${err.message}`)));
    proc.once('exit', (code) => fail(new Error(`redis-server exited with ${code}:\n${log}`)));
  });
}
