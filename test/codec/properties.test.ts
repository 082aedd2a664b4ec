// Property tests over generated PHP value trees: every encoder/decoder pair round-trips, the conversions agree
// with encoding from scratch, and the same input bytes always give the same output bytes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeToRedis, redisToEnvelope } from '../../src/codec/convert.js';
import { decodeEnvelope, type EnvelopeSettings, encodeEnvelope } from '../../src/codec/envelope.js';
import { formatPhpFloat } from '../../src/codec/php-float-format.js';
import { jsonDecode, jsonEncode } from '../../src/codec/php-json.js';
import { serialize, unserialize } from '../../src/codec/php-serialize.js';
import { CodecError, PhpArray, type PhpValue } from '../../src/codec/php-value.js';
import { decodeRedisValue, encodeRedisValue } from '../../src/codec/redis-format.js';
import { anyBytes, phpFloat, phpValue } from './php-arbitraries.js';

const RUNS = { numRuns: 500 };
const anyValue = phpValue({ jsonSafe: false, maxDepth: 4 });
const jsonValue = phpValue({ jsonSafe: true, maxDepth: 4 });
const settings: fc.Arbitrary<EnvelopeSettings> = fc.record({
  type: fc.constantFrom('PHP' as const, 'JSON' as const),
  hmacKey: fc.oneof(
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  ),
});

/** What json_decode(json_encode($v), true) gives: floats PHP prints without '.' or 'e' come back as ints. */
function afterJsonRoundTrip(value: PhpValue): PhpValue {
  if (typeof value === 'number') {
    const text = formatPhpFloat(value, 'e');
    return /[.e]/.test(text) ? value : BigInt(text);
  }
  if (value instanceof PhpArray)
    return new PhpArray(value.entries.map(([k, v]) => [k, afterJsonRoundTrip(v)]));
  return value;
}

describe('round trips', () => {
  it('unserialize(serialize(v)) is v', () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        expect(unserialize(serialize(v))).toEqual(v);
      }),
      RUNS,
    );
  });

  it('decodeRedisValue(encodeRedisValue(v)) is v', () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        expect(decodeRedisValue(encodeRedisValue(v))).toEqual(v);
      }),
      RUNS,
    );
  });

  it('jsonDecode(jsonEncode(v)) is v, with integral floats read back as ints as PHP does', () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(jsonDecode(jsonEncode(v))).toEqual(afterJsonRoundTrip(v));
      }),
      RUNS,
    );
  });

  it('every float survives serialize, and JSON up to the int rule', () => {
    fc.assert(
      fc.property(phpFloat, (f) => {
        expect(unserialize(serialize(f))).toEqual(f);
        if (Number.isFinite(f)) expect(jsonDecode(jsonEncode(f))).toEqual(afterJsonRoundTrip(f));
        else expect(() => jsonEncode(f)).toThrow(CodecError);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeEnvelope(encodeEnvelope(v)) is v for any type and key', () => {
    fc.assert(
      fc.property(jsonValue, settings, (v, s) => {
        const expected = s.type === 'PHP' ? v : afterJsonRoundTrip(v);
        expect(decodeEnvelope(encodeEnvelope(v, s), s)).toEqual(expected);
      }),
      RUNS,
    );
  });
});

describe('conversions', () => {
  it('redisToEnvelope(Redis bytes of v) is the envelope MediaWiki would write for v', () => {
    fc.assert(
      fc.property(jsonValue, settings, (v, s) => {
        const result = redisToEnvelope(encodeRedisValue(v), s);
        if (v === false) expect(result).toEqual({ ok: false, reason: 'FALSE_VALUE' });
        else expect(result).toEqual({ ok: true, bytes: encodeEnvelope(v, s) });
      }),
      RUNS,
    );
  });

  it('envelopeToRedis(envelope of v) is the Redis bytes of what MediaWiki would read', () => {
    fc.assert(
      fc.property(jsonValue, settings, (v, s) => {
        const expected = s.type === 'PHP' ? v : afterJsonRoundTrip(v);
        expect(envelopeToRedis(encodeEnvelope(v, s), s)).toEqual({
          ok: true,
          bytes: encodeRedisValue(expected),
        });
      }),
      RUNS,
    );
  });

  it('redis → envelope → redis gives back the Redis bytes for PHP payloads, objects and binary included', () => {
    fc.assert(
      fc.property(anyValue, settings, (v, s) => {
        fc.pre(v !== false);
        const redis = encodeRedisValue(v);
        const there = redisToEnvelope(redis, { ...s, type: 'PHP' });
        expect(there.ok).toBe(true);
        if (there.ok)
          expect(envelopeToRedis(there.bytes, { ...s, type: 'PHP' })).toEqual({ ok: true, bytes: redis });
      }),
      RUNS,
    );
  });

  it('is deterministic: equal input bytes give equal output bytes', () => {
    fc.assert(
      fc.property(fc.oneof(anyValue.map(encodeRedisValue), anyBytes), settings, (redis, s) => {
        const first = redisToEnvelope(redis, s);
        const second = redisToEnvelope(Buffer.from(redis), s);
        expect(second).toEqual(first);
        if (first.ok)
          expect(envelopeToRedis(first.bytes, s)).toEqual(envelopeToRedis(Buffer.from(first.bytes), s));
      }),
      RUNS,
    );
  });
});
