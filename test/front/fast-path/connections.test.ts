// The fast path's own connection handling: answers in Kask's shape, slow and idle clients, connection reuse after
// errors, limits, request metadata, drain; plus the head parser's prefix property.
import { once } from 'node:events';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequestHead } from '../../../src/front/fast-path/request-head.js';
import { eventually, sleep } from '../../support/wait.js';
import {
  answers,
  BASE,
  BUG_KEY,
  ERROR_KEY,
  exchange,
  kaskRequest,
  MAX_KEY,
  MAX_VALUE,
  startFront,
  type TestFront,
} from './support.js';

const REQUEST_TIMEOUT_MS = 400;
const KEEP_ALIVE_MS = 300;

let front: TestFront;
beforeAll(async () => {
  front = await startFront({
    fast: true,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: KEEP_ALIVE_MS,
  });
});
afterAll(async () => {
  await front?.close();
});

/** A keep-alive client: send, then wait for `n` more complete answers. */
async function client() {
  const socket = connect(front.port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  let lastDataAt = 0;
  socket.on('data', (c: Buffer) => {
    received = Buffer.concat([received, c]);
    lastDataAt = performance.now();
  });
  // Not events.once: it rejects on 'error', and a server cutting a client off mid-write may reach it as a reset.
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  return {
    socket,
    closed,
    async ask(bytes: Buffer, count = 1) {
      const before = answers(received).length;
      socket.write(bytes);
      const all = await eventually(
        () => answers(received),
        (a) => a.length >= before + count,
        2_000,
        5,
      );
      return all.slice(before);
    },
    raw: () => received,
    lastDataAt: () => lastDataAt,
  };
}

describe('fast path connections', () => {
  it("answers in Kask's (Go's) header shape, without node:http's Keep-Alive headers", async () => {
    const c = await client();
    await c.ask(kaskRequest('POST', 'shape', Buffer.from('JSON.."20261125112233"')));
    await c.ask(kaskRequest('GET', 'shape'));
    const text = c.raw().toString('latin1');
    expect(text).toMatch(
      /^HTTP\/1\.1 201 Created\r\nContent-Length: 0\r\nDate: [^\r]+ GMT\r\n\r\nHTTP\/1\.1 200 OK\r\nContent-Length: 22\r\nContent-Type: application\/octet-stream\r\nDate: [^\r]+ GMT\r\n\r\nJSON\.\."20261125112233"$/,
    );
    expect(front.live.size).toBeGreaterThan(0); // still on the fast path
    c.socket.destroy();
  });

  it('keeps serving a connection after 500s, a rejected phase call and 404s', async () => {
    const c = await client();
    expect((await c.ask(kaskRequest('GET', ERROR_KEY)))[0]?.status).toBe(500);
    expect((await c.ask(kaskRequest('POST', ERROR_KEY, Buffer.from('v'))))[0]?.status).toBe(500);
    expect((await c.ask(kaskRequest('GET', BUG_KEY)))[0]?.status).toBe(500);
    expect((await c.ask(kaskRequest('GET', 'absent')))[0]?.status).toBe(404);
    expect((await c.ask(kaskRequest('POST', 'reuse', Buffer.from('v'))))[0]?.status).toBe(201);
    const [hit] = await c.ask(kaskRequest('GET', 'reuse'));
    expect(hit).toMatchObject({ status: 200, body: 'v' });
    expect((await c.ask(kaskRequest('DELETE', 'reuse')))[0]?.status).toBe(204);
    expect(c.socket.destroyed).toBe(false);
    c.socket.destroy();
  });

  it('hands bodies over the limit to node:http (400, close, nothing stored); a body at the limit is stored', async () => {
    const over = await exchange(front.port, [kaskRequest('POST', 'big', Buffer.alloc(MAX_VALUE + 1, 0x61))]);
    expect(answers(over)).toMatchObject([{ status: 400, close: true }]);
    expect(front.phase.store.has('big')).toBe(false);
    const c = await client();
    expect((await c.ask(kaskRequest('POST', 'big', Buffer.alloc(MAX_VALUE, 0x61))))[0]?.status).toBe(201);
    expect(front.phase.store.get('big')?.length).toBe(MAX_VALUE);
    c.socket.destroy();
  });

  it('answers values over 2048 bytes chunked, as Go does', async () => {
    const c = await client();
    const value = Buffer.alloc(3000, 0x62);
    await c.ask(kaskRequest('POST', 'chunky', value));
    const [got] = await c.ask(kaskRequest('GET', 'chunky'));
    expect(got).toMatchObject({ status: 200, chunked: true, body: value.toString('latin1') });
    c.socket.destroy();
  });

  it('forwards X-Request-Id and trace headers, and makes up a request id when none is sent', async () => {
    const c = await client();
    front.phase.metas.length = 0;
    await c.ask(
      kaskRequest('GET', 'meta', undefined, ['X-Request-Id: abc', 'traceparent: tp', 'tracestate: ts']),
    );
    await c.ask(kaskRequest('GET', 'meta'));
    const [given, made] = front.phase.metas;
    expect(given).toEqual({
      requestId: 'abc',
      forward: { 'x-request-id': 'abc', traceparent: 'tp', tracestate: 'ts' },
    });
    expect(made?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(made?.forward).toEqual({ 'x-request-id': made?.requestId });
    c.socket.destroy();
  });

  it('cuts off a client trickling its head past the request timeout, storing nothing', async () => {
    const c = await client();
    const started = performance.now();
    const bytes = kaskRequest('POST', 'slow', Buffer.from('v'));
    for (const byte of bytes) {
      if (c.socket.destroyed || c.socket.writableEnded) break;
      c.socket.write(Buffer.from([byte]));
      await sleep(25);
      if (performance.now() - started > REQUEST_TIMEOUT_MS * 5) break;
    }
    const closedAt = await c.closed;
    expect(closedAt - started).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 5);
    expect(closedAt - started).toBeLessThan(REQUEST_TIMEOUT_MS * 4);
    expect(c.raw().length).toBe(0);
    expect(front.phase.store.has('slow')).toBe(false);
  });

  it('answers a slow client that completes its request within the timeout', async () => {
    const c = await client();
    const bytes = kaskRequest('POST', 'slowish', Buffer.from('v'));
    const pieces = [bytes.subarray(0, 10), bytes.subarray(10, 40), bytes.subarray(40)];
    for (const p of pieces) {
      c.socket.write(p);
      await sleep(50);
    }
    const got = await eventually(
      () => answers(c.raw()),
      (a) => a.length > 0,
      1_000,
      5,
    );
    expect(got[0]?.status).toBe(201);
    c.socket.destroy();
  });

  it('stores a body that arrives in many small pieces whole, then serves the next request', async () => {
    const c = await client();
    const value = Buffer.from(Array.from({ length: 3000 }, (_, i) => 0x41 + (i % 26)));
    const bytes = Buffer.concat([kaskRequest('POST', 'pieces', value), kaskRequest('GET', 'pieces')]);
    for (let at = 0; at < bytes.length; at += 37) {
      c.socket.write(bytes.subarray(at, at + 37));
      if (at % 370 === 0) await sleep(1);
    }
    const got = await eventually(
      () => answers(c.raw()),
      (a) => a.length >= 2,
      2_000,
      5,
    );
    expect(got).toMatchObject([{ status: 201 }, { status: 200, body: value.toString('latin1') }]);
    expect(front.phase.store.get('pieces')?.equals(value)).toBe(true);
    c.socket.destroy();
  });

  it('closes a keep-alive connection idle past the keep-alive timeout', async () => {
    const c = await client();
    await c.ask(kaskRequest('GET', 'idle'));
    const answeredAt = c.lastDataAt();
    const closedAt = await c.closed;
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 5);
    expect(closedAt - answeredAt).toBeLessThan(KEEP_ALIVE_MS * 4);
  });

  it('answers HTTP/1.0 through node:http', async () => {
    const raw = await exchange(front.port, [
      Buffer.from(`GET ${BASE}a HTTP/1.0\r\nHost: h\r\n\r\n`, 'latin1'),
    ]);
    expect(answers(raw)).toMatchObject([{ status: 404, close: true }]);
  });

  it('on close(), closes idle fast-path connections and lets the server close', async () => {
    const other = await startFront({ fast: true });
    const socket = connect(other.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(kaskRequest('GET', 'x'));
    await once(socket, 'data');
    const closed = once(socket, 'close');
    await new Promise((resolve) => other.server.close(resolve));
    await closed;
    expect(other.live.size).toBe(0);
  });
});

describe('request head parser', () => {
  const limits = { base: BASE, maxKeyBytes: MAX_KEY, maxValueBytes: MAX_VALUE };
  it('finds every prefix of a request incomplete, and the whole request exactly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET' as const, 'POST' as const, 'DELETE' as const),
        fc.stringMatching(/^[a-zA-Z0-9%:._-]{1,20}$/).filter((k) => !/%(?![0-9A-F]{2})/i.test(k)),
        fc.uint8Array({ minLength: 1, maxLength: 50 }),
        (method, key, value) => {
          const bytes = kaskRequest(method, key, method === 'POST' ? Buffer.from(value) : undefined);
          const whole = parseRequestHead(bytes, 0, limits);
          // Only a key that, once decoded, is a dot segment ('.', '..', '%2E.') or holds a slash ('a%2Fb') is not a key
          // (Kask's 404, src/front/key.ts).
          const decoded = key.replace(/%([0-9A-F]{2})/gi, (_, hex: string) =>
            String.fromCharCode(Number.parseInt(hex, 16)),
          );
          if (whole.kind !== 'request') return decoded === '.' || decoded === '..' || decoded.includes('/');
          expect(whole.method).toBe(method);
          expect(whole.headBytes + whole.contentLength).toBe(bytes.length);
          for (let n = 0; n < whole.headBytes; n++)
            expect(parseRequestHead(bytes.subarray(0, n), 0, limits).kind).toBe('incomplete');
          return true;
        },
      ),
    );
  });
});
