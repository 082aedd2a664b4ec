// Decoders run on bytes from the network and from Redis: whatever they get, they throw nothing but CodecError,
// the conversions throw nothing at all, and nesting is limited as PHP limits it. That declared lengths and counts
// cannot make them hang is timed, so it is in hostile-sizes.test.ts, outside the unit tier.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeToRedis, redisToEnvelope } from '../../src/codec/convert.js';
import { decodeEnvelope, type EnvelopeSettings } from '../../src/codec/envelope.js';
import { jsonDecode, jsonEncode } from '../../src/codec/php-json.js';
import { serialize, unserialize } from '../../src/codec/php-serialize.js';
import { CodecError, PhpArray, type PhpValue } from '../../src/codec/php-value.js';
import { decodeRedisValue, encodeRedisValue } from '../../src/codec/redis-format.js';
import { runs } from '../support/tier.js';
import { hostileBytes } from './php-arbitraries.js';

const SETTINGS: EnvelopeSettings[] = [
  { type: 'PHP', hmacKey: null },
  { type: 'JSON', hmacKey: null },
  { type: 'PHP', hmacKey: Buffer.from('secret') },
  { type: 'JSON', hmacKey: Buffer.from('secret') },
];

function onlyCodecErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
  }
}

describe('hostile bytes', () => {
  it('decoders throw only CodecError; conversions never throw', () => {
    fc.assert(
      fc.property(hostileBytes, (bytes) => {
        onlyCodecErrors(() => unserialize(bytes));
        onlyCodecErrors(() => decodeRedisValue(bytes));
        onlyCodecErrors(() => jsonDecode(bytes));
        for (const s of SETTINGS) {
          onlyCodecErrors(() => decodeEnvelope(bytes, s));
          const body = Buffer.concat([Buffer.from(`${s.type}..`), bytes]);
          onlyCodecErrors(() => decodeEnvelope(body, s));
          for (const input of [bytes, body]) {
            expect(() => redisToEnvelope(input, s)).not.toThrow();
            expect(() => envelopeToRedis(input, s)).not.toThrow();
          }
        }
      }),
      runs(2000),
    );
  });

  it('whatever unserialize accepts re-serializes and parses again to the same value', () => {
    fc.assert(
      fc.property(hostileBytes, (bytes) => {
        let value: PhpValue;
        try {
          value = unserialize(bytes);
        } catch {
          return;
        }
        expect(unserialize(serialize(value))).toEqual(value);
      }),
      runs(2000),
    );
  });
});

describe('declared sizes and nesting', () => {
  it("nesting is limited like PHP's: 4096 non-empty arrays pass, 4097 fail, empty arrays do not count", () => {
    const nested = (depth: number, inner: string) =>
      Buffer.from('a:1:{i:0;'.repeat(depth) + inner + '}'.repeat(depth), 'latin1');
    expect(unserialize(nested(4096, 'N;'))).toBeInstanceOf(PhpArray);
    expect(unserialize(nested(4096, 'a:0:{}'))).toBeInstanceOf(PhpArray);
    expect(() => unserialize(nested(4097, 'N;'))).toThrow(CodecError);
    // Compared as bytes: a structural deep-equal of 4097 levels would overflow the matcher's own stack.
    const bytes = nested(4096, 'a:0:{}');
    expect(serialize(unserialize(bytes))).toEqual(bytes);
  });

  it('json nesting: decode allows 511 levels (PHP depth 512), encode allows 512', () => {
    const nestedJson = (depth: number) => Buffer.from('['.repeat(depth) + ']'.repeat(depth), 'latin1');
    expect(jsonDecode(nestedJson(511))).toBeInstanceOf(PhpArray);
    expect(() => jsonDecode(nestedJson(512))).toThrow(CodecError);
    let value: PhpValue = new PhpArray([]);
    for (let i = 1; i < 512; i++) value = new PhpArray([[0n, value]]);
    expect(jsonEncode(value)).toEqual(nestedJson(512));
    expect(() => jsonEncode(new PhpArray([[0n, value]]))).toThrow(CodecError);
  });

  it('serialize refuses values PHP could not unserialize again (deeper than 4096)', () => {
    let value: PhpValue = null;
    for (let i = 0; i < 4097; i++) value = new PhpArray([[0n, value]]);
    expect(() => serialize(value)).toThrow(CodecError);
    expect(() => encodeRedisValue(value)).toThrow(CodecError);
  });
});
