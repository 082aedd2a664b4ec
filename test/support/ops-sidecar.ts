// Helpers shared by the suites that run a sidecar with an admin API (ops, deploy, phase flips, the fleet rig): start
// one, call its admin API, read its log.
import { Pool, request } from 'undici';
import { type Backends, spawnSidecar } from './backends.js';
import type { Spawned } from './processes.js';
import { eventually } from './wait.js';

export const TOKEN = 'adm1n-T0KEN-7f3c9e2a5b1d';

export interface OpsSidecar {
  proc: Spawned;
  /** Base URL with the base URI (the Kask API). */
  url: string;
  /** The listener's origin (for /metrics, /readyz). */
  origin: string;
  adminUrl: string;
}

/** `serve` against the suite's backends, admin API on a free port; extra CLI args and env as given. */
export async function startOpsSidecar(
  backends: Backends,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<OpsSidecar> {
  const proc = await spawnSidecar(backends, args, { KMP_ADMIN_TOKEN: TOKEN, ...env });
  return { proc, url: proc.url, origin: new URL(proc.url).origin, adminUrl: adminUrlOf(proc) };
}

/** The admin API's URL, from the sidecar's `admin.start` log line. */
export function adminUrlOf(proc: Spawned): string {
  const line = logLines(proc).find((l) => l['event.action'] === 'admin.start');
  if (!line) throw new Error(`no admin.start line:\n${proc.output()}`);
  return line['url.full'] as string;
}

/** Every JSON log line the process has written so far. */
export function logLines(proc: Spawned): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const text of proc.output().split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      // a line still being written
    }
  }
  return lines;
}

/** Polls the log until a line matches (or fails after `timeoutMs`). */
export async function waitForLog(
  proc: Spawned,
  match: (line: Record<string, unknown>) => boolean,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const found = await eventually(
    () => logLines(proc).find(match),
    (line) => line !== undefined,
    timeoutMs,
  );
  if (!found) throw new Error(`no matching log line within ${timeoutMs} ms:\n${proc.output()}`);
  return found;
}

export interface JsonAnswer {
  status: number;
  json: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** One admin API call with the given Authorization header value (undefined = none). */
export async function admin(
  adminUrl: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  opts: { body?: unknown; authorization?: string } = { authorization: `Bearer ${TOKEN}` },
): Promise<JsonAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  const res = await request(adminUrl + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
}

/** PUT /phase with the right token. */
export function setPhase(adminUrl: string, phase: string, force = false): Promise<JsonAnswer> {
  return admin(adminUrl, 'PUT', '/phase', {
    body: { phase, force },
    authorization: `Bearer ${TOKEN}`,
  });
}

/**
 * PUT /phase, retried while the guard says a previous change is still settling (here or on another sidecar: requests
 * of the phase left may run for one request deadline), for up to `timeoutMs`.
 */
export async function setPhaseWhenSettled(
  adminUrl: string,
  phase: string,
  timeoutMs = 8_000,
): Promise<JsonAnswer> {
  const settling = (res: JsonAnswer): boolean => {
    const reason = String(res.json.reason ?? '');
    return (
      res.status === 409 &&
      (reason.includes('still settling') || reason.includes('may still be running here'))
    );
  };
  return eventually(
    () => setPhase(adminUrl, phase),
    (res) => !settling(res),
    timeoutMs,
    100,
  );
}

/** Sets emulator faults (the emulator must run with --fault-control). */
export async function setKaskFaults(backends: Backends, faults: Record<string, unknown>): Promise<void> {
  const pool = new Pool(new URL(backends.kask.url).origin, { connections: 1 });
  try {
    const res = await pool.request({
      method: 'PUT',
      path: '/_emulator/faults',
      body: JSON.stringify(faults),
    });
    await res.body.dump();
  } finally {
    await pool.close();
  }
}

/** GET/POST/DELETE of a key on a Kask-API base URL; body as latin1 text. */
export async function kv(
  base: string,
  method: 'GET' | 'POST' | 'DELETE',
  key: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await request(base + encodeURIComponent(key), {
    method,
    body: body === undefined ? undefined : Buffer.from(body, 'latin1'),
    headers: body === undefined ? headers : { 'content-type': 'application/octet-stream', ...headers },
  });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()).toString('latin1') };
}
