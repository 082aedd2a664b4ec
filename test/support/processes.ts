// Spawns the built CLI (emulator, sidecar) as real processes on free loopback ports, and stops them.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/kask-migration-proxy.js', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  /** Base URL with the base URI, e.g. http://127.0.0.1:40123/echoseen/v1/ */
  url: string;
  port: number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Runs `kask-migration-proxy <args>` and waits for the JSON line that announces where it listens
 * (`url` from the emulator, `url.full` from the sidecar).
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<Spawned> {
  return spawnProcess([BIN, ...args], env, timeoutMs);
}

/** Runs `node <args>` (a script that starts a sidecar or an emulator) and waits for its listening line. */
export async function spawnProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 15_000,
): Promise<Spawned> {
  const child = spawn(process.execPath, args, {
    // Every sidecar's admin API on a free port, so suites running side by side never fight over 8091.
    env: { ...process.env, KMP_ADMIN_LISTEN: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started process behind a failed test
      reject(new Error(`no listening line within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const found = (rec['url.full'] ?? rec.url) as string | undefined;
          if (found && (rec['event.action'] === 'start' || rec.message === 'kask emulator listening')) {
            clearTimeout(timer);
            // From here on the listener below collects the output (keeping this one would double every line).
            child.stdout!.off('data', onData);
            resolve(found);
            return;
          }
        } catch {
          // partial line; wait for more
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${out}`));
    });
  });
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    output: () => out,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}

export function spawnEmulator(baseUri = '/echoseen/v1/', extra: string[] = []): Promise<Spawned> {
  return spawnCli(['kask-emulator', '--listen', '127.0.0.1:0', '--base-uri', baseUri, ...extra]);
}
