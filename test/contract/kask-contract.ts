// Kask's HTTP contract (reference: Kask http.go behaviour as observed on the wire), as one suite that any
// Kask-compatible server must pass: the emulator, and the sidecar in each phase.
import { describe, expect, it } from 'vitest';
import { type RawResponse, rawRequest, requestHead } from '../support/raw-http.js';

export interface ContractTarget {
  port: number;
  /** Normalised base URI, e.g. /sessions/v1/ */
  baseUri: string;
}

const PROBLEM = {
  400: [
    'https://www.mediawiki.org/wiki/Kask/errors/bad_request',
    'Bad request',
    'The request was incorrect or malformed',
  ],
  404: [
    'https://www.mediawiki.org/wiki/Kask/errors/not_found',
    'Not found',
    'The value you requested was not found',
  ],
  500: [
    'https://www.mediawiki.org/wiki/Kask/errors/server_error',
    'Internal server error',
    'The server encountered an error with your request',
  ],
} as const;

/** Kask's problem body, byte for byte, for an instance already escaped as Go's JSON encoder writes it. */
export function problemBytes(status: 400 | 404 | 500, escapedInstance: string): string {
  const [type, title, detail] = PROBLEM[status];
  return `{\n  "type": "${type}",\n  "title": "${title}",\n  "detail": "${detail}",\n  "instance": "${escapedInstance}"\n}\n`;
}

export function expectProblem(
  res: RawResponse,
  status: 400 | 404 | 500,
  escapedInstance: string,
  method = 'GET',
): void {
  expect(res.status).toBe(status);
  expect(res.header('content-type')).toBe('application/json');
  expect(res.header('x-content-type-options')).toBe('nosniff');
  const body = problemBytes(status, escapedInstance);
  expect(res.header('content-length')).toBe(String(Buffer.byteLength(body)));
  expect(res.body.toString('utf8')).toBe(method === 'HEAD' ? '' : body);
}

let counter = 0;
/** A fresh key per test, so suites sharing a store never see each other's values. */
export function uniqueKey(prefix = 'k'): string {
  counter += 1;
  return `${prefix}${process.pid}x${Date.now().toString(36)}x${counter}`;
}

export function runKaskContract(name: string, target: () => ContractTarget): void {
  describe(`Kask contract: ${name}`, () => {
    const send = (method: string, path: string, extra: string[] = [], body?: Buffer | string) => {
      const t = target();
      const bodyBuf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
      const lines = bodyBuf ? [...extra, `Content-Length: ${bodyBuf.length}`] : extra;
      return rawRequest(t.port, requestHead(method, path, lines), bodyBuf);
    };
    const base = () => target().baseUri;

    it('POST stores the body and answers 201 with no body, Content-Length 0 and no Content-Type', async () => {
      const key = uniqueKey();
      const res = await send('POST', base() + key, ['Content-Type: application/octet-stream'], 'v');
      expect(res.status).toBe(201);
      expect(res.header('content-length')).toBe('0');
      expect(res.header('content-type')).toBeUndefined();
      expect(res.body.length).toBe(0);
      expect(res.header('date')).toBeDefined();
    });

    it('POST without a Content-Type is accepted', async () => {
      const key = uniqueKey();
      expect((await send('POST', base() + key, [], 'v')).status).toBe(201);
      const res = await send('GET', base() + key);
      expect(res.body.toString()).toBe('v');
    });

    it('GET of a stored key answers 200 application/octet-stream with the exact bytes and nothing more', async () => {
      const key = uniqueKey();
      await send('POST', base() + key, [], 'JSON.."20201010123456"');
      const res = await send('GET', base() + key);
      expect(res.status).toBe(200);
      expect(res.header('content-type')).toBe('application/octet-stream');
      expect(res.header('content-length')).toBe('22');
      expect(res.body.toString('latin1')).toBe('JSON.."20201010123456"');
      for (const absent of [
        'etag',
        'cache-control',
        'server',
        'x-request-id',
        'access-control-allow-origin',
      ]) {
        expect(res.header(absent)).toBeUndefined();
      }
    });

    it('a second POST overwrites the value', async () => {
      const key = uniqueKey();
      await send('POST', base() + key, [], 'one');
      await send('POST', base() + key, [], 'two');
      expect((await send('GET', base() + key)).body.toString()).toBe('two');
    });

    it('GET of an absent key answers the 404 problem', async () => {
      const key = uniqueKey();
      expectProblem(await send('GET', base() + key), 404, base() + key);
    });

    it('POST with an empty body answers the 400 problem and stores nothing', async () => {
      const key = uniqueKey();
      expectProblem(await send('POST', base() + key, ['Content-Length: 0']), 400, base() + key);
      expectProblem(await send('GET', base() + key), 404, base() + key);
    });

    it.each(['PUT', 'PATCH', 'OPTIONS', 'get', 'FOO'])(
      '%s answers the 400 problem (never 405) and stores nothing',
      async (method) => {
        const key = uniqueKey();
        const res = await send(method, base() + key, [], 'v');
        expectProblem(res, 400, base() + key);
        expect(res.header('allow')).toBeUndefined();
        expectProblem(await send('GET', base() + key), 404, base() + key);
      },
    );

    it('HEAD answers 400 with the problem headers and Content-Length, but no body', async () => {
      const key = uniqueKey();
      expectProblem(await send('HEAD', base() + key), 400, base() + key, 'HEAD');
    });

    it('DELETE answers 204 with no body, Content-Length or Content-Type, whether or not the key exists', async () => {
      const key = uniqueKey();
      await send('POST', base() + key, [], 'v');
      for (let i = 0; i < 2; i++) {
        const res = await send('DELETE', base() + key, ['Content-Length: 0']);
        expect(res.status).toBe(204);
        expect(res.header('content-length')).toBeUndefined();
        expect(res.header('content-type')).toBeUndefined();
        expect(res.body.length).toBe(0);
      }
      expectProblem(await send('GET', base() + key), 404, base() + key);
    });

    it('any query string answers 400, with the instance showing the path only', async () => {
      const key = uniqueKey();
      await send('POST', base() + key, [], 'v');
      expectProblem(await send('GET', `${base()}${key}?x=1`), 400, base() + key);
      expectProblem(await send('POST', `${base()}${key}?x=1`, [], 'w'), 400, base() + key);
      expectProblem(await send('GET', `${base()}?q`), 400, base());
      expect((await send('GET', base() + key)).body.toString()).toBe('v');
    });

    it('a bare trailing ? is the same as none', async () => {
      const key = uniqueKey();
      await send('POST', `${base()}${key}?`, [], 'v');
      const res = await send('GET', `${base()}${key}?`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('v');
    });

    it.each([
      ['the empty key', ''],
      ['a key with a slash', 'a/b'],
      ['an encoded slash', 'a%2Fb'],
      ['a trailing slash', 'a/'],
    ])('%s answers the 404 problem on every method', async (_label, suffix) => {
      const instance = base() + decodeURIComponent(suffix);
      expectProblem(await send('GET', base() + suffix), 404, instance);
      expectProblem(await send('POST', base() + suffix, [], 'v'), 404, instance);
      expectProblem(await send('DELETE', base() + suffix), 404, instance);
      expectProblem(await send('PUT', base() + suffix, [], 'v'), 404, instance);
    });

    it('paths outside the base URI get Go’s plain 404', async () => {
      const res = await send('GET', '/other');
      expect(res.status).toBe(404);
      expect(res.header('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.header('x-content-type-options')).toBe('nosniff');
      expect(res.body.toString()).toBe('404 page not found\n');
      expect((await send('GET', '/healthz/')).status).toBe(404);
    });

    it('a malformed percent-escape answers Go’s plain-text 400 and closes', async () => {
      const res = await send('GET', `${base()}%zz`);
      expect(res.status).toBe(400);
      expect(res.header('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.header('connection')).toBe('close');
      expect(res.header('date')).toBeUndefined();
      expect(res.body.toString()).toBe('400 Bad Request');
    });

    it('keys are percent-decoded exactly once; + stays literal', async () => {
      const key = uniqueKey();
      await send('POST', `${base()}${key}%3Aa%2Bb`, [], 'plus');
      expect((await send('GET', `${base()}${key}:a+b`)).body.toString()).toBe('plus');
      await send('POST', `${base()}${key}%253A`, [], 'pct');
      expect((await send('GET', `${base()}${key}%253A`)).body.toString()).toBe('pct');
      expectProblem(await send('GET', `${base()}${key}%3A`), 404, `${base()}${key}:`);
      await send('POST', `${base()}${key}foo%3Fbar`, [], 'q');
      expect((await send('GET', `${base()}${key}foo%3Fbar`)).body.toString()).toBe('q');
      await send('POST', `${base()}${key}cat%20dog`, [], 'space');
      expect((await send('GET', `${base()}${key}cat%20dog`)).body.toString()).toBe('space');
    });

    it('unicode keys work percent-encoded, as RESTBagOStuff sends them', async () => {
      const key = uniqueKey();
      await send('POST', `${base()}${key}%E2%9C%93`, [], 'check');
      const res = await send('GET', `${base()}${key}%E2%9C%93`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('check');
    });

    // Known difference: Go takes raw bytes ≥0x80 in the request line; Node's HTTP parser refuses them. MediaWiki
    // never sends them (rawurlencode), so the answer is Go's own plain 400 for unparseable requests, then a close.
    it('raw UTF-8 in the request line answers a plain 400 and the server keeps serving', async () => {
      const raw = Buffer.from(`${base()}${uniqueKey()}✓`, 'utf8').toString('latin1');
      const res = await send('GET', raw);
      expect(res.status).toBe(400);
      expect((await send('GET', '/healthz')).status).toBe(200);
    });

    it('MediaWiki-shaped keys round-trip (Echo seen-time, lock keys)', async () => {
      const id = uniqueKey('');
      const path = `${base()}global%3Aecho%3Aseen%3Aalert%3Atime%3A${id}`;
      await send(
        'POST',
        path,
        ['content-type: application/octet-stream', 'user-agent: wikimedia/multi-http-client v1.1'],
        'JSON.."20261125112233"',
      );
      expect((await send('GET', path)).body.toString()).toBe('JSON.."20261125112233"');
      await send('POST', `${path}%3Alock`, [], 'JSON..1');
      expect((await send('GET', `${path}%3Alock`)).body.toString()).toBe('JSON..1');
    });

    it('binary values of every byte value round-trip exactly', async () => {
      const key = uniqueKey();
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
      await send('POST', base() + key, [], value);
      const res = await send('GET', base() + key);
      expect(res.body.equals(value)).toBe(true);
    });

    it('values up to 2048 bytes carry Content-Length; larger ones go chunked, as Go frames them', async () => {
      const small = uniqueKey();
      const large = uniqueKey();
      await send('POST', base() + small, [], Buffer.alloc(2048, 0x61));
      await send('POST', base() + large, [], Buffer.alloc(2049, 0x62));
      const s = await send('GET', base() + small);
      expect(s.header('content-length')).toBe('2048');
      expect(s.chunked).toBe(false);
      const l = await send('GET', base() + large);
      expect(l.chunked).toBe(true);
      expect(l.body.equals(Buffer.alloc(2049, 0x62))).toBe(true);
    });

    it('chunked request bodies and Expect: 100-continue are accepted', async () => {
      const key = uniqueKey();
      const t = target();
      const res = await rawRequest(
        t.port,
        requestHead('POST', base() + key, ['Transfer-Encoding: chunked', 'Expect: 100-continue']),
        '3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
      );
      expect(res.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 Created/);
      expect((await send('GET', base() + key)).body.toString()).toBe('abcde');
    });

    it('absolute-form request targets work like origin-form', async () => {
      const key = uniqueKey();
      await send('POST', `http://localhost${base()}${key}`, [], 'abs');
      expect((await send('GET', base() + key)).body.toString()).toBe('abs');
    });

    it('a copy of the base URI inside the key cuts the key there (Kask quirk)', async () => {
      const key = uniqueKey();
      await send('POST', base() + key, [], 'quirk');
      const res = await send('GET', `${base()}${key}${base()}ignored`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('quirk');
    });

    it('the problem instance is escaped as Go escapes JSON (<>&, quotes, invalid UTF-8, U+2028)', async () => {
      expectProblem(
        await send('GET', `${base()}%3Ca%3E%26%22%5C`),
        404,
        `${base()}\\u003ca\\u003e\\u0026\\"\\\\`,
      );
      expectProblem(await send('GET', `${base()}%FF%E2%80%A8%C3%A9`), 404, `${base()}\\ufffd\\u2028é`);
      expectProblem(await send('GET', `${base()}%01`), 404, `${base()}\\u0001`);
    });

    it('Kask’s x-amples: POST then GET of KASK%3AK%3AINTEGRATION_TEST_KEY', async () => {
      const path = `${base()}KASK%3AK%3AINTEGRATION_TEST_KEY`;
      const post = await send(
        'POST',
        path,
        ['Content-Type: application/octet-stream', 'User-Agent: ServiceChecker-WMF/0.1.2'],
        'KASK:V:INTEGRATION_TEST_VALUE',
      );
      expect(post.status).toBe(201);
      const get = await send('GET', path, [
        'Accept: application/octet-stream',
        'User-Agent: ServiceChecker-WMF/0.1.2',
      ]);
      expect(get.status).toBe(200);
      expect(get.header('content-type')).toBe('application/octet-stream');
      expect(get.body.toString()).toBe('KASK:V:INTEGRATION_TEST_VALUE');
    });

    it('/openapi serves the spec with the x-amples and the real base URI', async () => {
      const res = await send('GET', '/openapi');
      expect(res.status).toBe(200);
      expect(res.header('content-type')).toBe('application/x-yaml');
      const doc = res.body.toString();
      expect(doc).toContain(`"${base()}{key}":`);
      expect(doc).toContain('key: KASK:K:INTEGRATION_TEST_KEY');
      expect(doc).toContain('body: KASK:V:INTEGRATION_TEST_VALUE');
      expect(doc.match(/x-monitor: true/g)).toHaveLength(2);
    });

    it('/healthz answers 200 JSON with Kask’s fields, indented, without a trailing newline, on any method', async () => {
      for (const method of ['GET', 'POST']) {
        const res = await send(method, '/healthz?ignored=1');
        expect(res.status).toBe(200);
        expect(res.header('content-type')).toMatch(/^application\/json/);
        const text = res.body.toString();
        expect(text.endsWith('}')).toBe(true);
        expect(text).toMatch(/^\{\n {2}"version": /);
        expect(Object.keys(JSON.parse(text))).toEqual(
          expect.arrayContaining(['version', 'build_date', 'build_host', 'go_version']),
        );
      }
    });

    it('/metrics exposes Kask’s request counter for base-URI requests', async () => {
      await send('GET', `${base()}${uniqueKey()}`);
      const res = await send('GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.body.toString()).toMatch(/http_requests_total\{code="404",method="GET"/);
      expect(res.body.toString()).toContain('http_request_duration_seconds_bucket');
    });

    it('keeps serving after garbage on the wire', async () => {
      const t = target();
      const res = await rawRequest(t.port, 'NOT HTTP AT ALL\r\n');
      expect(res.status).toBe(400);
      expect((await send('GET', '/healthz')).status).toBe(200);
    });
  });
}
