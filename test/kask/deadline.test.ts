// Kask calls have one deadline for everything (queueing for a pooled connection included): a call ends by it, and
// a call abandoned while still queued is dropped, never sent to Kask later (a late write could undo a repair).
import { createServer, type Server } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaskClient } from '../../src/kask/client.js';
import { sleep } from '../support/wait.js';

const DEADLINE_MS = 300;
const SLOT_MS = 25;

/** A Kask that accepts every request and never answers; it notes when each one arrived. */
let arrivals: Array<{ key: string; at: number }> = [];
let server: Server;
beforeAll(async () => {
  server = createServer((req) => arrivals.push({ key: req.url!.split('/').pop()!, at: performance.now() }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('Kask call deadline', () => {
  it('ends hung and queued calls with KASK_TIMEOUT, never before the deadline, and never sends one late', async () => {
    arrivals = [];
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
    const client = new KaskClient({
      url,
      connections: 1,
      connectTimeoutMs: 200,
      requestTimeoutMs: DEADLINE_MS,
      caFile: null,
    });
    const starts = new Map<string, number>();
    // When each request was handed to a socket: the moment that must precede its deadline. (Its arrival at the
    // server also waits on the event loop, which a busy test machine delays by tens of ms.)
    const sent: Array<{ key: string; at: number }> = [];
    const write = Socket.prototype.write;
    Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      const head = /^[A-Z]+ \/v1\/(k\d+) /.exec(typeof chunk === 'string' ? chunk : '');
      if (head) sent.push({ key: head[1]!, at: performance.now() });
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof write;
    const calls: Promise<{ code: unknown; ms: number }>[] = [];
    // Calls share a deadline when they start in the same 25 ms slot (the pool's deadline slots use
    // performance.now()): start at the beginning of one, so k0..k2 surely share it.
    while (performance.now() % SLOT_MS > 2) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 6; i++) {
      const key = `k${i}`;
      starts.set(key, performance.now());
      calls.push(
        client.get(Buffer.from(key)).then(
          () => ({ code: 'answered', ms: 0 }),
          (err: { code?: unknown }) => ({ code: err.code, ms: performance.now() - starts.get(key)! }),
        ),
      );
      // One connection: calls queue behind the hung one. Half start at once (one shared deadline), half staggered.
      if (i >= 3) await sleep(40);
    }
    const results = await Promise.all(calls).finally(() => (Socket.prototype.write = write));
    for (const r of results) {
      expect(r.code).toBe('KASK_TIMEOUT');
      expect(r.ms).toBeGreaterThanOrEqual(DEADLINE_MS);
      expect(r.ms).toBeLessThan(DEADLINE_MS + SLOT_MS + 100);
    }
    await sleep(DEADLINE_MS);
    // Sent before its deadline, which is at most one slot after the call's own (the 2 ms cover the clock reads
    // between noting the start and the call taking its deadline).
    expect(sent.map((s) => s.key)).toEqual(arrivals.map((a) => a.key));
    for (const s of sent) expect(s.at - starts.get(s.key)!).toBeLessThan(DEADLINE_MS + SLOT_MS + 2);
    // k1 and k2 waited in the queue behind k0 with the same deadline: they end with it, and are never sent.
    expect(arrivals.map((a) => a.key)).not.toContain('k1');
    expect(arrivals.map((a) => a.key)).not.toContain('k2');
    await client.close();
  });
});
