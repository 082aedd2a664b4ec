// Steady load through the sidecar while faults come and go. Each key belongs to one worker, so its operations are
// sequential and "the last acknowledged write" is well defined; every answer and its client-side latency is kept.
import type { Pool } from 'undici';
import { BASE } from '../../support/rig.js';
import { sleep } from '../../support/wait.js';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface Op {
  method: Method;
  /** The envelope POSTed (POST only). */
  value?: string;
  /** 0: no HTTP answer at all (connection failed or reset). */
  status: number;
  body: string;
  /** Start time (performance.now()) and duration, client-side. */
  at: number;
  ms: number;
}

export interface KeyHistory {
  key: string;
  /** The envelope of the legacy value seeded into Redis only, if any. */
  seed: string | null;
  ops: Op[];
}

let counter = 0;
/** A fresh Echo seen-time envelope (JSON string of 14 digits), unique within the run. */
export function freshValue(): string {
  counter += 1;
  return `JSON.."2026${String(counter).padStart(10, '0')}"`;
}

export class Load {
  #running = false;
  #workers: Promise<void>[] = [];

  constructor(
    readonly pool: Pool,
    readonly keys: KeyHistory[],
    readonly workers: number,
    readonly thinkMs: number,
  ) {}

  start(): void {
    this.#running = true;
    this.#workers = Array.from({ length: this.workers }, (_, w) =>
      this.#work(this.keys.filter((_, i) => i % this.workers === w)),
    );
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  get ops(): Op[] {
    return this.keys.flatMap((k) => k.ops);
  }

  async #work(owned: KeyHistory[]): Promise<void> {
    while (this.#running) {
      const h = owned[Math.floor(Math.random() * owned.length)]!;
      const dice = Math.random();
      const method: Method = dice < 0.45 ? 'POST' : dice < 0.85 ? 'GET' : 'DELETE';
      h.ops.push(await this.#send(h.key, method));
      await sleep(Math.random() * this.thinkMs);
    }
  }

  async #send(key: string, method: Method): Promise<Op> {
    const value = method === 'POST' ? freshValue() : undefined;
    const started = performance.now();
    try {
      const res = await this.pool.request({
        method,
        path: BASE + encodeURIComponent(key),
        body: value,
        headers: value ? { 'content-type': 'application/octet-stream' } : {},
      });
      const body = Buffer.from(await res.body.arrayBuffer()).toString('latin1');
      return { method, value, status: res.statusCode, body, at: started, ms: performance.now() - started };
    } catch (err) {
      return { method, value, status: 0, body: String(err), at: started, ms: performance.now() - started };
    }
  }
}

/**
 * What a key may hold at the end (null = absent): the result of its last acknowledged write or delete (or the seed,
 * if none), or the result of any write or delete after it — those were answered 500 and may or may not have landed.
 */
export function allowedFinal(h: KeyHistory): Set<string | null> {
  let last = -1;
  h.ops.forEach((op, i) => {
    if ((op.method === 'POST' && op.status === 201) || (op.method === 'DELETE' && op.status === 204))
      last = i;
  });
  const result = (op: Op): string | null => (op.method === 'POST' ? op.value! : null);
  const allowed = new Set<string | null>([last === -1 ? h.seed : result(h.ops[last]!)]);
  for (const op of h.ops.slice(last + 1)) if (op.method !== 'GET') allowed.add(result(op));
  return allowed;
}

/** Every value a GET could legitimately have answered for this key. */
export function everWritten(h: KeyHistory): Set<string> {
  const values = new Set(h.ops.filter((op) => op.method === 'POST').map((op) => op.value!));
  if (h.seed !== null) values.add(h.seed);
  return values;
}
