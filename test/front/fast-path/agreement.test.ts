// The fast path against the node:http path on the same bytes: pipelined mixes of RESTBagOStuff's requests and
// every other shape, cut into reads at arbitrary points (and at every single byte), must get the same answers and
// leave the same effects, in the same order.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../support/wait.js';
import {
  answers,
  BASE,
  BUG_KEY,
  CLOSING_GET,
  cut,
  ERROR_KEY,
  exchange,
  kaskRequest,
  MAX_KEY,
  MAX_VALUE,
  oneByOne,
  startFront,
  type TestFront,
} from './support.js';

let fast: TestFront;
let reference: TestFront;
beforeAll(async () => {
  fast = await startFront({ fast: true });
  reference = await startFront({ fast: false });
});
afterAll(async () => {
  await fast?.close();
  await reference?.close();
});

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const keyArb = fc.constantFrom('a', 'b', 'c%3Ad', 'x%20y', ERROR_KEY, BUG_KEY);
/** Values without CR/LF, so the response splitter can find chunked ends; up to past Go's 2048-byte buffer. */
const valueArb = fc
  .oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2040, max: 2100 }))
  .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
  .map((a) => Buffer.from(a.map((b) => (b === 0x0d || b === 0x0a ? 0x2e : b))));

/**
 * RESTBagOStuff's shapes, with the header variations a client may add. (`Connection: close` only ever ends an
 * exchange: node:http answers bytes sent after it with a 400 where Go, and the fast path, ignore them.)
 */
const kaskShape = fc
  .record({
    method: fc.constantFrom('GET' as const, 'POST' as const, 'DELETE' as const),
    key: keyArb,
    value: valueArb,
    requestId: fc.option(fc.constantFrom('req-1', '', ' padded '), { nil: undefined }),
    trace: fc.boolean(),
  })
  .map(({ method, key, value, requestId, trace }) => {
    const extra: string[] = ['User-Agent: MediaWiki/1.45'];
    if (requestId !== undefined) extra.push(`X-Request-Id: ${requestId}`);
    if (trace) extra.push('traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    return kaskRequest(method, key, method === 'POST' ? value : undefined, extra);
  });

/**
 * Shapes the fast path must hand to node:http. (Not an unknown method such as `get`: node:http's answer to it
 * depends on where its reads split the request line, so it cannot serve as a reference; nor HTTP/1.0, after which
 * node:http answers pipelined bytes with a 400 before its answer to the request.)
 */
const otherShape = fc.constantFrom(
  // chunked body
  latin1(
    `POST ${BASE}a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`,
  ),
  // Expect: 100-continue
  latin1(`POST ${BASE}b HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nxyz`),
  latin1(`GET ${BASE}a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n`),
  latin1(`GET ${BASE}a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n`),
  latin1(`GET ${BASE} HTTP/1.1\r\nHost: h\r\n\r\n`),
  latin1(`GET ${BASE}${'k'.repeat(MAX_KEY + 1)} HTTP/1.1\r\nHost: h\r\n\r\n`),
  latin1(`POST ${BASE}a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n`),
  latin1(
    `POST ${BASE}a HTTP/1.1\r\nHost: h\r\nContent-Length: ${MAX_VALUE + 1}\r\n\r\n${'v'.repeat(MAX_VALUE + 1)}`,
  ),
  latin1(`PUT ${BASE}a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nv`),
  latin1(`GET ${BASE}a HTTP/1.1\r\nHost: h\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n\r\n`),
  latin1(`GET ${BASE}a HTTP/1.1\r\nHost: h\r\nX-Fold: a\r\n b\r\n\r\n`),
  latin1(`GET ${BASE}a HTTP/1.1\r\n\r\n`),
  latin1(`GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n`),
  latin1(`GET http://h${BASE}a HTTP/1.1\r\nHost: h\r\n\r\n`),
  latin1(`DELETE ${BASE}a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nzz`),
  latin1(`GET ${BASE}a HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n0000000`),
);

/** RESTBagOStuff's requests, then maybe one other shape (after which node:http has the connection for good). */
const pipelineArb = fc
  .tuple(fc.array(kaskShape, { minLength: 0, maxLength: 5 }), fc.option(otherShape, { nil: undefined }))
  .map(([kask, other]) => (other ? [...kask, other] : kask))
  .filter((requests) => requests.length > 0);

/**
 * The fast front gets the requests pipelined and cut at `cuts`; the reference gets them one at a time. Answers,
 * effects (in order) and the final store must match.
 */
async function expectAgreement(requests: Buffer[], cuts: number[]): Promise<void> {
  const all = [...requests, CLOSING_GET];
  for (const front of [fast, reference]) {
    front.phase.store.clear();
    front.phase.effects.length = 0;
  }
  const got = await exchange(fast.port, cut(Buffer.concat(all), cuts));
  const want = await oneByOne(reference.port, all);
  // Effects of requests still running when the connection closed land a little later.
  await sleep(5);
  const answered = answers(got);
  expect(answered).toEqual(answers(want));
  // node:http still runs requests pipelined behind an answer that closed the connection (their answers are never
  // sent): effects are only comparable when the connection stayed open to the end.
  const last = answered.at(-1);
  if (answered.slice(0, -1).some((a) => a.close) || !last?.body.includes(`${BASE}last`)) return;
  expect(fast.phase.effects).toEqual(reference.phase.effects);
  expect([...fast.phase.store]).toEqual([...reference.phase.store]);
}

describe('fast path agrees with node:http', () => {
  it('on pipelined mixes of request shapes cut into arbitrary reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        pipelineArb,
        fc.array(fc.integer({ min: 1, max: 9000 }), { maxLength: 6 }),
        async (requests, cuts) => expectAgreement(requests, cuts),
      ),
      { numRuns: 150 },
    );
  });

  it('on a pipeline cut once at every byte', async () => {
    const requests = [
      kaskRequest('POST', 'a', latin1('JSON.."20261125112233"'), ['X-Request-Id: r1']),
      kaskRequest('GET', 'a'),
      kaskRequest('DELETE', 'a'),
      kaskRequest('GET', 'a'),
      latin1(`POST ${BASE}b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n`),
      kaskRequest('GET', 'b'),
    ];
    const bytes = Buffer.concat(requests);
    for (let at = 1; at < bytes.length; at++) await expectAgreement(requests, [at]);
  }, 120_000);

  it('on arbitrary header lines', async () => {
    // Not Content-Length or Transfer-Encoding: with no body behind them they would frame the next request as a
    // body (the other shapes cover them with real bodies).
    const nameArb = fc.oneof(
      fc.constantFrom('Host', 'host', 'X-Request-Id', 'traceparent', 'Connection', 'Expect', 'Accept'),
      fc.string({ unit: fc.constantFrom(...'abcXYZ-_:. \t@'), minLength: 0, maxLength: 8 }),
    );
    const valueArb = fc.string({
      unit: fc.oneof(
        fc.constantFrom(...'abc 0123 \t,;=-'),
        fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
      ),
      maxLength: 12,
    });
    const headerArb = fc.tuple(nameArb, valueArb).map(([n, v]) => `${n}:${v}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(headerArb, { maxLength: 4 }),
        fc.constantFrom('GET', 'DELETE'),
        async (headers, method) => {
          const head = [`${method} ${BASE}a HTTP/1.1`, 'Host: h', ...headers].join('\r\n');
          await expectAgreement([latin1(`${head}\r\n\r\n`), kaskRequest('GET', 'b')], []);
        },
      ),
      { numRuns: 150 },
    );
  });
});
