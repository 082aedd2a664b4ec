// The RESP2 reply reader against replies built from a model: whatever the reads' boundaries, it yields exactly the
// replies sent, in order; arbitrary bytes only ever end in a protocol error or a wait for more, never a crash, a
// wrong reply or an endless loop. And the command framing, read back as the RESP it must be.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { frame } from '../../src/redis/resp-connection.js';
import {
  INCOMPLETE,
  RespErrorReply,
  RespProtocolError,
  RespReader,
  type RespValue,
} from '../../src/redis/resp-reader.js';
import { runs } from '../support/tier.js';

type Model =
  | { t: 'simple'; v: string }
  | { t: 'error'; v: string }
  | { t: 'int'; v: number }
  | { t: 'bulk'; v: Uint8Array }
  | { t: 'nullBulk' }
  | { t: 'nullArray' }
  | { t: 'array'; v: Model[] };

const line = fc.string({ unit: 'binary-ascii' }).map((s) => s.replace(/[\r\n]/g, '_'));
const model: fc.Arbitrary<Model> = fc.letrec<{ m: Model }>((tie) => ({
  m: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    line.map((v) => ({ t: 'simple' as const, v })),
    line.map((v) => ({ t: 'error' as const, v })),
    fc
      .maxSafeInteger()
      .filter((n) => Math.abs(n) < 1e18)
      .map((v) => ({ t: 'int' as const, v })),
    fc.uint8Array({ maxLength: 300 }).map((v) => ({ t: 'bulk' as const, v })),
    fc.constant({ t: 'nullBulk' as const }),
    fc.constant({ t: 'nullArray' as const }),
    fc.array(tie('m'), { maxLength: 4 }).map((v) => ({ t: 'array' as const, v })),
  ),
})).m;

function encode(m: Model): Buffer {
  switch (m.t) {
    case 'simple':
      return Buffer.from(`+${m.v}\r\n`, 'latin1');
    case 'error':
      return Buffer.from(`-${m.v}\r\n`, 'latin1');
    case 'int':
      return Buffer.from(`:${m.v}\r\n`, 'latin1');
    case 'bulk':
      return Buffer.concat([Buffer.from(`$${m.v.length}\r\n`), m.v, Buffer.from('\r\n')]);
    case 'nullBulk':
      return Buffer.from('$-1\r\n');
    case 'nullArray':
      return Buffer.from('*-1\r\n');
    case 'array':
      return Buffer.concat([Buffer.from(`*${m.v.length}\r\n`), ...m.v.map(encode)]);
  }
}

/** What the reader must give for a model reply (error text read as UTF-8, as the reader does). */
function expected(m: Model): unknown {
  switch (m.t) {
    case 'simple':
      return m.v;
    case 'error':
      return new RespErrorReply(Buffer.from(m.v, 'latin1').toString('utf8'));
    case 'int':
      return m.v;
    case 'bulk':
      return Buffer.from(m.v);
    case 'nullBulk':
    case 'nullArray':
      return null;
    case 'array':
      return m.v.map(expected);
  }
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out.filter((c) => c.length > 0);
}

function readAll(reader: RespReader): RespValue[] {
  const out: RespValue[] = [];
  for (;;) {
    const r = reader.next();
    if (r === INCOMPLETE) return out;
    out.push(r);
  }
}

describe('RespReader', () => {
  it('yields exactly the replies sent, in order, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(model, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (replies, cuts) => {
          const bytes = Buffer.concat(replies.map(encode));
          const reader = new RespReader();
          const got: RespValue[] = [];
          for (const c of chunks(bytes, cuts)) {
            reader.feed(Buffer.from(c)); // a fresh buffer per read, as the socket gives
            got.push(...readAll(reader));
          }
          expect(got).toEqual(replies.map(expected));
          expect(reader.buffered).toBe(0);
        },
      ),
      runs(500),
    );
  });

  it('never answers a truncated reply: every proper prefix is INCOMPLETE', () => {
    fc.assert(
      fc.property(model, (m) => {
        const bytes = encode(m);
        for (let n = 0; n < bytes.length; n++) {
          const reader = new RespReader();
          reader.feed(bytes.subarray(0, n));
          expect(reader.next()).toBe(INCOMPLETE);
        }
      }),
      runs(200),
    );
  });

  it('arbitrary bytes end in a reply, INCOMPLETE or RespProtocolError, never anything else', () => {
    const noise = fc.uint8Array({ maxLength: 64 });
    const respish = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '+',
            '-',
            ':',
            '$',
            '*',
            '\r',
            '\n',
            '\r\n',
            '-1',
            '0',
            '9',
            '$-2\r\n',
            '*99999999\r\n',
          ),
          fc.string({ maxLength: 4 }),
        ),
        { maxLength: 20 },
      )
      .map((parts) => new Uint8Array(Buffer.from(parts.join(''), 'latin1')));
    fc.assert(
      fc.property(fc.oneof(noise, respish), fc.array(fc.nat(), { maxLength: 4 }), (raw, cuts) => {
        const reader = new RespReader();
        try {
          for (const c of chunks(Buffer.from(raw), cuts)) {
            reader.feed(c);
            let guard = 0;
            while (reader.next() !== INCOMPLETE) expect(++guard).toBeLessThan(1000);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(RespProtocolError);
        }
      }),
      runs(1000),
    );
  });

  it.each([
    ['a RESP3 type', '_\r\n'],
    ['a bare LF', '+OK\n'],
    ['CR without LF', '+OK\rX\r\n'],
    ['a bulk length below -1', '$-2\r\n'],
    ['a bulk without its CRLF', '$2\r\nabXY'],
    ['a non-numeric length', '$x\r\n'],
    ['an empty integer', ':\r\n'],
    ['an integer past 19 digits', ':12345678901234567890\r\n'],
    ['arrays nested too deep', `${'*1\r\n'.repeat(20)}:1\r\n`],
  ])('refuses %s', (_, bytes) => {
    const reader = new RespReader();
    reader.feed(Buffer.from(bytes, 'latin1'));
    expect(() => readAll(reader)).toThrow(RespProtocolError);
  });

  it('joins a long bulk string once it is all there, not once per chunk (no quadratic copying)', () => {
    const value = Buffer.alloc(4 * 1024 * 1024, 7);
    const bytes = Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n+OK\r\n')]);
    const reader = new RespReader();
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const got: RespValue[] = [];
      for (let at = 0; at < bytes.length; at += 4096) {
        reader.feed(bytes.subarray(at, at + 4096));
        got.push(...readAll(reader));
      }
      expect(got).toHaveLength(2);
      expect((got[0] as Buffer).equals(value)).toBe(true); // (toEqual would compare 4 MB byte by byte, slowly)
      expect(got[1]).toBe('OK');
      expect(concat.mock.calls.length).toBeLessThanOrEqual(3);
    } finally {
      concat.mockRestore();
    }
  });

  it('refuses a header line that never ends instead of buffering it forever', () => {
    const reader = new RespReader();
    reader.feed(Buffer.from(`+${'a'.repeat(70_000)}`));
    expect(() => reader.next()).toThrow(RespProtocolError);
  });
});

describe('frame', () => {
  it('is a RESP array of bulk strings carrying every word and byte argument exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 3 }),
        (words, args) => {
          const bytes = frame(
            words,
            args.map((a) => Buffer.from(a)),
          );
          // A command is an array of bulk strings: the reply reader reads that shape too.
          const reader = new RespReader();
          reader.feed(bytes);
          const got = reader.next();
          expect(got).toEqual([
            ...words.map((w) => Buffer.from(w, 'utf8')),
            ...args.map((a) => Buffer.from(a)),
          ]);
          expect(reader.buffered).toBe(0);
        },
      ),
      runs(300),
    );
  });
});
