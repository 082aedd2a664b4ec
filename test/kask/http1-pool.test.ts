// The Kask client's HTTP/1.1 pool against scripted raw-socket servers: answer framings split at every byte,
// keep-alive reuse, a server closing idle connections, Connection: close, bounded connections, refused connects,
// and the request bytes it sends (header forwarding, no header injection).
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, KaskClient } from '../../src/kask/client.js';
import { sleep, waitFor } from '../support/wait.js';

/** `onConnection`: how many requests this connection carried before this one. */
type Script = (socket: Socket, request: string, onConnection: number) => void;

/** A server that reads requests (head + Content-Length body) and answers each through `script`. */
async function scripted(
  script: Script,
): Promise<{ server: Server; url: string; connections: () => number; reads: () => number }> {
  let connections = 0;
  let reads = 0;
  const server = createServer((socket) => {
    connections++;
    let onConnection = 0;
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      reads++;
      buf += c.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const request = buf.slice(0, end + 4 + length);
        buf = buf.slice(end + 4 + length);
        script(socket, request, onConnection++);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/v1/`,
    connections: () => connections,
    reads: () => reads,
  };
}

const servers: Server[] = [];
const clients: KaskClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) {
    s.close();
  }
});

function client(url: string, connections = 4, requestTimeoutMs = 1_000, pipelineDepth = 1): KaskClient {
  const c = new KaskClient({
    url,
    connections,
    connectTimeoutMs: 200,
    requestTimeoutMs,
    caFile: null,
    pipelineDepth,
  });
  clients.push(c);
  return c;
}

const DATE = 'Date: Sun, 29 Nov 2026 12:00:00 GMT\r\n';

/** Writes `bytes` in pieces cut at `cuts`, a macrotask apart. */
async function writeCut(socket: Socket, bytes: Buffer, cuts: number[]): Promise<void> {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let from = 0;
  for (const p of [...points, bytes.length]) {
    socket.write(bytes.subarray(from, p));
    from = p;
    await sleep(1);
  }
}

function chunkedAnswer(value: Buffer, sizes: number[]): Buffer {
  const parts: Buffer[] = [
    Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n${DATE}Transfer-Encoding: chunked\r\n\r\n`,
    ),
  ];
  let at = 0;
  for (const size of sizes) {
    if (at >= value.length) break;
    const piece = value.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    at += piece.length;
  }
  if (at < value.length) {
    const rest = value.subarray(at);
    parts.push(Buffer.from(`${rest.length.toString(16)}\r\n`), rest, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('Kask client HTTP/1.1 pool', () => {
  it('reads Content-Length, chunked and interim-then-final answers cut into arbitrary reads, on one connection', async () => {
    let answer: { bytes: Buffer; cuts: number[] } = { bytes: Buffer.alloc(0), cuts: [] };
    const kask = await scripted((socket) => void writeCut(socket, answer.bytes, answer.cuts));
    const c = client(kask.url, 1);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        fc.constantFrom('length', 'chunked', 'continue'),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 3200 }), { maxLength: 5 }),
        async (raw, framing, sizes, cuts) => {
          const value = Buffer.from(raw);
          const head = `HTTP/1.1 200 OK\r\nContent-Length: ${value.length}\r\nContent-Type: application/octet-stream\r\n${DATE}\r\n`;
          const bytes =
            framing === 'chunked'
              ? chunkedAnswer(value, sizes)
              : Buffer.concat([
                  Buffer.from(framing === 'continue' ? `HTTP/1.1 100 Continue\r\n\r\n${head}` : head),
                  value,
                ]);
          answer = { bytes, cuts };
          const read = await c.get(Buffer.from('k'));
          expect(read.kind).toBe('hit');
          if (read.kind === 'hit') expect(read.value.equals(value)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
    expect(kask.connections()).toBe(1);
  }, 60_000);

  it('reads a chunked answer cut at every byte', async () => {
    const value = Buffer.from('JSON.."20261125112233"'.repeat(3));
    const bytes = chunkedAnswer(value, [5, 40]);
    let cutAt = 1;
    const kask = await scripted((socket) => void writeCut(socket, bytes, [cutAt]));
    const c = client(kask.url, 1);
    for (; cutAt < bytes.length; cutAt++) {
      const read = await c.get(Buffer.from('k'));
      expect(read).toEqual({ kind: 'hit', value });
    }
  }, 60_000);

  it('sends the key percent-encoded, forwards request ids, and never lets a header value split the request', async () => {
    const seen: string[] = [];
    const kask = await scripted((socket, request) => {
      seen.push(request);
      socket.write(`HTTP/1.1 201 Created\r\nContent-Length: 0\r\n${DATE}\r\n`);
    });
    const c = client(kask.url);
    await c.set(Buffer.from('global:echo:seen'), Buffer.from('v'), {
      'x-request-id': 'r1',
      traceparent: 'tp',
      tracestate: 'evil\r\nX-Injected: 1',
    });
    expect(seen[0]).toMatch(/^POST \/v1\/global%3Aecho%3Aseen HTTP\/1\.1\r\n/);
    expect(seen[0]).toContain('\r\ncontent-type: application/octet-stream\r\n');
    expect(seen[0]).toContain('\r\nx-request-id: r1\r\ntraceparent: tp\r\n');
    expect(seen[0]).not.toContain('X-Injected');
    expect(seen[0]).toMatch(/\r\ncontent-length: 1\r\n\r\nv$/);
  });

  it('maps answers: 404 → miss, 5xx → KASK_STATUS; DELETE 404 is success', async () => {
    const kask = await scripted((socket, request) => {
      const status =
        request.startsWith('GET /v1/missing') || request.startsWith('DELETE')
          ? '404 Not Found'
          : '503 Service Unavailable';
      socket.write(`HTTP/1.1 ${status}\r\nContent-Length: 2\r\n${DATE}\r\nno`);
    });
    const c = client(kask.url);
    expect(await c.get(Buffer.from('missing'))).toEqual({ kind: 'miss' });
    await expect(c.get(Buffer.from('other'))).rejects.toMatchObject({ code: 'KASK_STATUS', status: 503 });
    await c.delete(Buffer.from('any'));
  });

  it('re-sends a GET once on a fresh connection when Kask closed the reused one under it; a POST fails instead', async () => {
    // Kask drops every connection as its second request arrives, answering nothing: the keep-alive race.
    const kask = await scripted((socket, request, onConnection) => {
      if (onConnection >= 1) return void socket.destroy();
      const status = request.startsWith('GET') ? '200 OK' : '201 Created';
      socket.write(`HTTP/1.1 ${status}\r\nContent-Length: 1\r\n${DATE}\r\nv`);
    });
    const c = client(kask.url, 1);
    await c.get(Buffer.from('a'));
    expect(kask.connections()).toBe(1);
    // The pooled connection looks fine; Kask drops it when this GET arrives, and a new one answers it.
    expect((await c.get(Buffer.from('b'))).kind).toBe('hit');
    expect(kask.connections()).toBe(2);
    // The write went out and its outcome is unknown: the error says it was sent.
    await expect(c.set(Buffer.from('c'), Buffer.from('v'))).rejects.toMatchObject({
      code: 'KASK_UNAVAILABLE',
      cause: { sent: true },
    });
    expect(kask.connections()).toBe(2);
  });

  it('closes after an answer with Connection: close, and opens a new connection for the next call', async () => {
    const kask = await scripted((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n${DATE}\r\nv`);
      socket.end();
    });
    const c = client(kask.url, 1);
    for (let i = 0; i < 3; i++) expect((await c.get(Buffer.from('a'))).kind).toBe('hit');
    expect(kask.connections()).toBe(3);
  });

  it('never opens more than `connections` connections; further calls wait their turn', async () => {
    const kask = await scripted((socket) => {
      setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n${DATE}\r\nv`), 20);
    });
    const c = client(kask.url, 2);
    const reads = await Promise.all(Array.from({ length: 10 }, (_, i) => c.get(Buffer.from(`k${i}`))));
    expect(reads.every((r) => r.kind === 'hit')).toBe(true);
    expect(kask.connections()).toBe(2);
  });

  it('fails calls at once with KASK_UNAVAILABLE when Kask refuses connections', async () => {
    const kask = await scripted(() => {});
    const url = kask.url;
    await new Promise((resolve) => kask.server.close(resolve));
    const c = client(url, 2, 5_000);
    const started = performance.now();
    const err = await c.get(Buffer.from('a')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe('KASK_UNAVAILABLE');
    expect((err as BackendError).cause).toMatchObject({ sent: false });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('fails a call with KASK_UNAVAILABLE when the answer is not HTTP', async () => {
    const kask = await scripted((socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'));
    const c = client(kask.url);
    await expect(c.get(Buffer.from('a'))).rejects.toMatchObject({ code: 'KASK_UNAVAILABLE' });
  });

  it('speaks TLS to an https: Kask, trusting kask.ca_file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmp-tls-'));
    try {
      const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'ignore' },
      );
      const server = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (socket) => {
        socket.on('data', () => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n${DATE}\r\nv`));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push(server);
      const { port } = server.address() as AddressInfo;
      const c = new KaskClient({
        url: `https://127.0.0.1:${port}/v1/`,
        connections: 1,
        connectTimeoutMs: 1_000,
        requestTimeoutMs: 2_000,
        caFile: cert,
      });
      clients.push(c);
      expect(await c.get(Buffer.from('a'))).toEqual({ kind: 'hit', value: Buffer.from('v') });
      // Without the CA, the certificate is refused.
      const untrusting = client(`https://127.0.0.1:${port}/v1/`);
      await expect(untrusting.get(Buffer.from('a'))).rejects.toMatchObject({ code: 'KASK_UNAVAILABLE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The key of a request line `GET /v1/KEY HTTP/1.1`. */
const keyOf = (request: string): string =>
  request.slice(request.indexOf('/v1/') + 4, request.indexOf(' HTTP/'));
const okAnswer = (value: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${value.length}\r\n${extra}${DATE}\r\n${value}`;

describe('Kask client HTTP/1.1 pool, pipelining (bulk tools)', () => {
  it('keeps at most `depth` requests in flight per connection, matches answers in order, and batches writes', async () => {
    let outstanding = 0;
    let most = 0;
    const kask = await scripted((socket, request) => {
      most = Math.max(most, ++outstanding);
      // Answers come a little later, in order: requests pile up in flight meanwhile.
      setTimeout(() => {
        outstanding--;
        socket.write(okAnswer(keyOf(request)));
      }, 2);
    });
    const c = client(kask.url, 1, 2_000, 8);
    const keys = Array.from({ length: 60 }, (_, i) => `key${i}`);
    // What the socket hands to the kernel: one _write or _writev per system call.
    let writes = 0;
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
    const originals = { _write: proto._write, _writev: proto._writev };
    for (const name of ['_write', '_writev'] as const)
      proto[name] = function (this: unknown, ...args: unknown[]) {
        writes++;
        return originals[name].apply(this, args);
      };
    const reads = await Promise.all(keys.map((k) => c.get(Buffer.from(k)))).finally(() =>
      Object.assign(proto, originals),
    );
    expect(reads.map((r) => (r.kind === 'hit' ? r.value.toString() : r.kind))).toEqual(keys);
    expect(kask.connections()).toBe(1);
    expect(most).toBe(8);
    // Requests made in one turn of the event loop share a write (the server's answers are counted too: 60).
    expect(writes - keys.length).toBeLessThan(keys.length / 3);
  });

  it('reads pipelined answers of every framing, cut into arbitrary reads', async () => {
    let answers: Buffer[] = [];
    let cuts: number[] = [];
    let pending: Buffer[] = [];
    // One writer at a time: a batch's cut pieces must not interleave with the next batch's.
    let writing = Promise.resolve();
    const kask = await scripted((socket, request) => {
      pending.push(answers[Number(keyOf(request).slice(1))]!);
      // Every answer of this read, back to back, cut at arbitrary points.
      if (pending.length === 1)
        setImmediate(() => {
          const bytes = Buffer.concat(pending);
          pending = [];
          writing = writing.then(() => writeCut(socket, bytes, cuts));
        });
    });
    const c = client(kask.url, 1, 5_000, 4);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            raw: fc.uint8Array({ minLength: 0, maxLength: 600 }),
            framing: fc.constantFrom('length', 'chunked', 'continue', 'no-content'),
            sizes: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 7 },
        ),
        fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 6 }),
        async (shapes, cutPoints) => {
          cuts = cutPoints;
          answers = shapes.map(({ raw, framing, sizes }) => {
            const value = Buffer.from(raw);
            if (framing === 'chunked') return chunkedAnswer(value, sizes);
            if (framing === 'no-content')
              return Buffer.from(`HTTP/1.1 404 Not Found\r\n${DATE}Content-Length: 0\r\n\r\n`);
            const head = `HTTP/1.1 200 OK\r\nContent-Length: ${value.length}\r\n${DATE}\r\n`;
            return Buffer.concat([
              Buffer.from(framing === 'continue' ? `HTTP/1.1 100 Continue\r\n\r\n${head}` : head),
              value,
            ]);
          });
          const reads = await Promise.all(shapes.map((_, i) => c.get(Buffer.from(`k${i}`))));
          const wanted = shapes.map((s) =>
            s.framing === 'no-content' ? 'miss' : Buffer.from(s.raw).toString('hex'),
          );
          expect(reads.map((r) => (r.kind === 'hit' ? r.value.toString('hex') : r.kind))).toEqual(wanted);
        },
      ),
      { numRuns: 60 },
    );
    expect(kask.connections()).toBe(1);
  }, 60_000);

  it('after a Connection: close answer mid-pipeline, re-sends the GETs behind it and fails the writes as sent', async () => {
    const kask = await scripted((socket, request, onConnection) => {
      if (onConnection === 0) socket.write(okAnswer(keyOf(request)));
      else if (onConnection === 1) {
        socket.write(okAnswer(keyOf(request), 'Connection: close\r\n'));
        socket.end();
      }
      // Later requests on this connection are read and never served, as a closing server does.
    });
    const c = client(kask.url, 1, 2_000, 4);
    const [a, b, write, d] = await Promise.allSettled([
      c.get(Buffer.from('a')),
      c.get(Buffer.from('b')),
      c.set(Buffer.from('c'), Buffer.from('v')),
      c.get(Buffer.from('d')),
    ]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { kind: 'hit' } });
    expect(b).toMatchObject({ status: 'fulfilled', value: { kind: 'hit' } });
    // The write's outcome is unknown (it was on the wire): the caller must treat it so.
    expect(write).toMatchObject({
      status: 'rejected',
      reason: { code: 'KASK_UNAVAILABLE', cause: { sent: true } },
    });
    // The GET behind it went again, first on a new connection.
    expect(d).toMatchObject({ status: 'fulfilled', value: { kind: 'hit' } });
    if (d.status === 'fulfilled' && d.value.kind === 'hit') expect(d.value.value.toString()).toBe('d');
    expect(kask.connections()).toBe(2);
  });

  it('ends the calls behind an answer that never comes with KASK_TIMEOUT by their deadline', async () => {
    // A server that serves only the first request of a connection and then reads the rest forever.
    const kask = await scripted((socket, request, onConnection) => {
      if (onConnection === 0) socket.write(okAnswer(keyOf(request)));
    });
    const c = client(kask.url, 1, 300, 4);
    const started = performance.now();
    const results = await Promise.allSettled(['a', 'b', 'c'].map((k) => c.get(Buffer.from(k))));
    expect(results[0]).toMatchObject({ status: 'fulfilled' });
    for (const r of results.slice(1))
      expect(r).toMatchObject({ status: 'rejected', reason: { code: 'KASK_TIMEOUT' } });
    expect(performance.now() - started).toBeLessThan(300 + 25 + 300);
  });

  it('never exceeds its depth when retried GETs fill a connection that was already waiting for calls', async () => {
    // Connection B answers its first call with Connection: close (its other two are retried) while connection A,
    // with room, answers one: A takes the retries, and the request A's answer makes must not go on A as well.
    const outstanding = new Map<Socket, number>();
    let most = 0;
    const waiting: Array<{ socket: Socket; request: string }> = [];
    const kask = await scripted((socket, request) => {
      const n = (outstanding.get(socket) ?? 0) + 1;
      outstanding.set(socket, n);
      most = Math.max(most, n);
      waiting.push({ socket, request });
    });
    const answer = (socket: Socket, close = false): void => {
      const at = waiting.findIndex((w) => w.socket === socket);
      const { request } = waiting.splice(at, 1)[0]!;
      outstanding.set(socket, outstanding.get(socket)! - 1);
      socket.write(okAnswer(keyOf(request), close ? 'Connection: close\r\n' : ''));
      if (close) socket.end();
    };
    const c = client(kask.url, 2, 5_000, 3);
    const reads = ['r1', 'r2', 'r3', 'r4', 'r5'].map((k) =>
      c.get(Buffer.from(k)).then(() => (k === 'r4' ? c.get(Buffer.from('x4')) : undefined)),
    );
    await waitFor(() => waiting.length === 5, 2_000, 'five requests in flight');
    const sockets = [...new Set(waiting.map((w) => w.socket))];
    const b = sockets.find((s) => outstanding.get(s) === 3)!;
    const a = sockets.find((s) => outstanding.get(s) === 2)!;
    answer(b, true);
    answer(a);
    // Serve whatever arrives until every read is answered.
    const serve = setInterval(() => {
      for (const w of [...waiting]) answer(w.socket);
    }, 10);
    await Promise.all(reads).finally(() => clearInterval(serve));
    expect(most).toBeLessThanOrEqual(3);
  });

  it('refuses an answer with two different Content-Length values, and reads repeated Connection headers as one list', async () => {
    let head = '';
    const kask = await scripted((socket) => socket.write(`HTTP/1.1 200 OK\r\n${head}${DATE}\r\nvv`));
    const c = client(kask.url, 1, 1_000, 2);
    head = 'Content-Length: 1\r\nContent-Length: 2\r\n';
    await expect(c.get(Buffer.from('a'))).rejects.toMatchObject({ code: 'KASK_UNAVAILABLE' });
    head = 'Content-Length: 2\r\nContent-Length: 2\r\n';
    expect(await c.get(Buffer.from('a'))).toMatchObject({ kind: 'hit' });
    const before = kask.connections();
    head = 'Content-Length: 2\r\nConnection: keep-alive\r\nConnection: close\r\n';
    expect(await c.get(Buffer.from('a'))).toMatchObject({ kind: 'hit' });
    // The second Connection header closed it: the next call needs a new connection.
    head = 'Content-Length: 2\r\n';
    expect(await c.get(Buffer.from('a'))).toMatchObject({ kind: 'hit' });
    expect(kask.connections()).toBe(before + 1);
  });
});
