// The Kask client's HTTP/1.1 pool against scripted raw-socket servers: answer framings split at every byte,
// keep-alive reuse, a server closing idle connections, Connection: close, bounded connections, refused connects,
// and the request bytes it sends (header forwarding, no header injection).
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, KaskClient } from '../../src/kask/client.js';
import { sleep } from '../support/wait.js';

/** `onConnection`: how many requests this connection carried before this one. */
type Script = (socket: Socket, request: string, onConnection: number) => void;

/** A server that reads requests (head + Content-Length body) and answers each through `script`. */
async function scripted(script: Script): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    let onConnection = 0;
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
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
  return { server, url: `http://127.0.0.1:${port}/v1/`, connections: () => connections };
}

const servers: Server[] = [];
const clients: KaskClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) {
    s.close();
  }
});

function client(url: string, connections = 4, requestTimeoutMs = 1_000): KaskClient {
  const c = new KaskClient({ url, connections, connectTimeoutMs: 200, requestTimeoutMs, caFile: null });
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
