// How the sidecar talks to Kask: what it forwards, and how Kask's failures become Kask's own 500 problem.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Spawned, spawnCli } from '../support/processes.js';
import { rawRequest, requestHead } from '../support/raw-http.js';
import { expectProblem } from './kask-contract.js';

/** A stand-in Kask that records requests and answers as told. */
let seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
let answer: (res: import('node:http').ServerResponse) => void = (res) => res.writeHead(201).end();
let fake: Server;
let proxy: Spawned;

beforeAll(async () => {
  fake = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      answer(res);
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const port = (fake.address() as AddressInfo).port;
  proxy = await spawnCli(
    [
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--phase',
      'kask-only',
      '--kask-url',
      `http://127.0.0.1:${port}/kask/base`,
    ],
    {
      KMP_ADMIN_TOKEN: '',
    },
  );
});
afterAll(async () => {
  await proxy?.stop();
  await new Promise((r) => fake.close(r));
});

const send = (head: string, body?: string) => rawRequest(proxy.port, head, body);

describe('sidecar → Kask', () => {
  it('re-encodes the decoded key like rawurlencode under Kask’s base path, and POSTs the exact body', async () => {
    seen = [];
    answer = (res) => res.writeHead(201, { 'content-length': 0 }).end();
    const res = await send(
      requestHead('POST', '/echoseen/v1/global%3Aecho%3Aseen%3Aalert%3Atime%3A1%20%2B+', [
        'Content-Length: 3',
      ]),
      'a\u0000b',
    );
    expect(res.status).toBe(201);
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.url).toBe('/kask/base/global%3Aecho%3Aseen%3Aalert%3Atime%3A1%20%2B%2B');
    expect(seen[0]!.body.toString('latin1')).toBe('a\u0000b');
    expect(seen[0]!.headers['content-type']).toBe('application/octet-stream');
  });

  it('forwards X-Request-Id, traceparent and tracestate, and generates a request id when none came', async () => {
    seen = [];
    answer = (res) => res.writeHead(404).end();
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await send(
      requestHead('GET', '/echoseen/v1/k', [
        'X-Request-Id: req-123',
        `traceparent: ${tp}`,
        'tracestate: a=b',
      ]),
    );
    expect(seen[0]!.headers['x-request-id']).toBe('req-123');
    expect(seen[0]!.headers.traceparent).toBe(tp);
    expect(seen[0]!.headers.tracestate).toBe('a=b');
    await send(requestHead('GET', '/echoseen/v1/k'));
    expect(seen[1]!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('maps Kask’s 404 to the 404 problem and any Kask 5xx to the 500 problem', async () => {
    answer = (res) => res.writeHead(404).end('{}');
    expectProblem(await send(requestHead('GET', '/echoseen/v1/k')), 404, '/echoseen/v1/k');
    answer = (res) => res.writeHead(503).end('upstream sad');
    expectProblem(await send(requestHead('GET', '/echoseen/v1/k')), 500, '/echoseen/v1/k');
    expectProblem(
      await send(requestHead('POST', '/echoseen/v1/k', ['Content-Length: 1']), 'v'),
      500,
      '/echoseen/v1/k',
    );
    expectProblem(await send(requestHead('DELETE', '/echoseen/v1/k')), 500, '/echoseen/v1/k');
  });

  it('answers the 500 problem within its Kask budget when Kask hangs', async () => {
    answer = () => {}; // never answers
    const started = Date.now();
    expectProblem(await send(requestHead('GET', '/echoseen/v1/k')), 500, '/echoseen/v1/k');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('enforces its own key and value limits with Kask’s 400 problem', async () => {
    const longKey = 'k'.repeat(65537);
    expectProblem(await send(requestHead('GET', `/echoseen/v1/${longKey}`)), 400, `/echoseen/v1/${longKey}`);
    // Refused on the declared length alone, before any of the body is read (and the connection closes).
    const res = await send(requestHead('POST', '/echoseen/v1/k', ['Content-Length: 1048577']));
    expectProblem(res, 400, '/echoseen/v1/k');
    expect(res.header('connection')).toBe('close');
  });
});
