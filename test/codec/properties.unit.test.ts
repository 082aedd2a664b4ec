// Property tests over generated PHP value trees: every encoder/decoder pair round-trips, the conversions agree
// with encoding from scratch, and the same input bytes always give the same output bytes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeToRedis, redisToEnvelope } from '../../src/codec/convert.js';
import {
  decodeEnvelope,
  type EnvelopeSettings,
  encodeEnvelope,
  openEnvelope,
  sealEnvelope,
} from '../../src/codec/envelope.js';
import { normalizeArrayKey } from '../../src/codec/php-array-key.js';
import { formatPhpFloat } from '../../src/codec/php-float-format.js';
import { jsonDecode, jsonEncode } from '../../src/codec/php-json.js';
import { serialize, unserialize } from '../../src/codec/php-serialize.js';
import { CodecError, PhpArray, PhpObject, type PhpValue } from '../../src/codec/php-value.js';
import { decodeRedisValue, encodeRedisValue } from '../../src/codec/redis-format.js';
import { runs } from '../support/tier.js';
import { anyBody, anyBytes, anyRedis, envelopeSettings, phpFloat, phpValue } from './php-arbitraries.js';

const RUNS = runs(500);
const anyValue = phpValue({ jsonSafe: false, maxDepth: 4 });
const jsonValue = phpValue({ jsonSafe: true, maxDepth: 4 });
const settings = envelopeSettings;

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
      runs(2000),
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

// ---- Opaque bodies: the `b:0;` + body mapping is a bijection on what each side can hold ---------------------

const OPAQUE_CODES = new Set(['BAD_ENVELOPE', 'TYPE_MISMATCH', 'HMAC_MISMATCH', 'MALFORMED']);

/** How MediaWiki (RESTBagOStuff::decodeBody) reads a body, by the codec's PHP-verified decoder. */
type Reading =
  | { kind: 'value'; value: PhpValue }
  | { kind: 'false' }
  | { kind: 'opaque' }
  | { kind: 'unknown' };

function mediaWikiReads(body: Uint8Array, s: EnvelopeSettings): Reading {
  try {
    const value = decodeEnvelope(body, s);
    return value === false ? { kind: 'false' } : { kind: 'value', value };
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return OPAQUE_CODES.has(error.code) ? { kind: 'opaque' } : { kind: 'unknown' };
  }
}

/**
 * What RESTBagOStuff's JSON mode reads back after storing v: stdClass objects become arrays of their visible
 * (unmangled) properties, numeric names become int keys, integral floats PHP prints bare come back as ints.
 */
function jsonModeView(v: PhpValue): PhpValue {
  if (v instanceof PhpObject)
    return new PhpArray(
      v.props
        .filter(([name]) => name[0] !== 0)
        .map(([name, item]) => [normalizeArrayKey(name), jsonModeView(item)]),
    );
  if (v instanceof PhpArray) return new PhpArray(v.entries.map(([k, item]) => [k, jsonModeView(item)]));
  return afterJsonRoundTrip(v);
}

const withBody = settings.chain((s) => fc.tuple(fc.constant(s), anyBody(s)));
const withRedis = settings.chain((s) => fc.tuple(fc.constant(s), anyRedis(s)));

describe('opaque bodies (values Redis cannot hold as a value)', () => {
  it('every body: back exactly when MediaWiki reads it as an opaque miss, a miss for a stored false, else the same value', () => {
    fc.assert(
      fc.property(withBody, ([s, body]) => {
        const reading = mediaWikiReads(body, s);
        const redis = envelopeToRedis(body, s);
        if (reading.kind === 'unknown') {
          // A PHP payload beyond the codec (references, C:, E:): carried verbatim both ways.
          expect(s.type).toBe('PHP');
          const payload = openEnvelope(body, s);
          expect(redis).toEqual({ ok: true, bytes: Buffer.from(payload) });
          expect(redisToEnvelope(payload, s)).toEqual({ ok: true, bytes: sealEnvelope(payload, s) });
          return;
        }
        expect(redis.ok).toBe(true);
        if (!redis.ok) return;
        const back = redisToEnvelope(redis.bytes, s);
        if (reading.kind === 'opaque') {
          expect(redis.bytes).toEqual(Buffer.concat([Buffer.from('b:0;'), body]));
          expect(decodeRedisValue(redis.bytes)).toBe(false); // RedisBagOStuff: a miss, as for MediaWiki
          expect(back).toEqual(
            body.length > 0 ? { ok: true, bytes: body } : { ok: false, reason: 'FALSE_VALUE' },
          );
        } else if (reading.kind === 'false') {
          expect(redis.bytes).toEqual(Buffer.from('b:0;'));
          expect(back).toEqual({ ok: false, reason: 'FALSE_VALUE' });
        } else {
          // RedisBagOStuff reads the value MediaWiki read; the body served back reads the same again (JSON: as
          // RESTBagOStuff's JSON mode reads a value back, so a JSON `-4.0` that PHP reads as a float comes back as
          // json_encode's `-4`, an int, exactly as if MediaWiki had stored that float itself).
          expect(serialize(decodeRedisValue(redis.bytes))).toEqual(serialize(reading.value));
          expect(back.ok).toBe(true);
          if (back.ok) {
            const again = mediaWikiReads(back.bytes, s);
            const expected = s.type === 'PHP' ? reading.value : jsonModeView(reading.value);
            expect(again.kind).toBe('value');
            if (again.kind === 'value') expect(serialize(again.value)).toEqual(serialize(expected));
          }
        }
      }),
      runs(2000),
    );
  });

  it('every value RedisBagOStuff writes keeps its meaning both ways (JSON mode: as RESTBagOStuff JSON would)', () => {
    fc.assert(
      fc.property(anyValue, settings, (v, s) => {
        const redis = encodeRedisValue(v);
        const body = redisToEnvelope(redis, s);
        if (v === false) {
          expect(body).toEqual({ ok: false, reason: 'FALSE_VALUE' });
          return;
        }
        if (!body.ok) {
          // Only JSON can refuse: a non-stdClass object, a non-UTF-8 string, INF or NAN somewhere in v.
          expect(s.type).toBe('JSON');
          expect(['NOT_JSON_ENCODABLE', 'NOT_UTF8']).toContain(body.reason);
          return;
        }
        const reading = mediaWikiReads(body.bytes, s);
        expect(reading.kind).toBe('value');
        const expected = s.type === 'PHP' ? v : jsonModeView(v);
        if (reading.kind === 'value') expect(serialize(reading.value)).toEqual(serialize(expected));
        const again = envelopeToRedis(body.bytes, s);
        if (s.type === 'PHP') expect(again).toEqual({ ok: true, bytes: redis });
        else expect(again).toEqual({ ok: true, bytes: encodeRedisValue(expected) });
      }),
      runs(1000),
    );
  });

  it('any Redis bytes: the body served never turns a Redis miss into a hit nor changes a value', () => {
    fc.assert(
      fc.property(withRedis, ([s, redis]) => {
        const body = redisToEnvelope(redis, s);
        if (!body.ok) return;
        let stored: PhpValue;
        try {
          stored = decodeRedisValue(redis);
        } catch (error) {
          // Beyond the codec (references, C:, E:): PHP mode serves the very bytes, which PHP reads the same way.
          expect(error instanceof CodecError && error.code).toBe('UNSUPPORTED');
          expect(s.type).toBe('PHP');
          expect(body.bytes).toEqual(sealEnvelope(redis, s));
          return;
        }
        const reading = mediaWikiReads(body.bytes, s);
        if (stored === false) expect(reading.kind).toBe('opaque');
        else {
          expect(reading.kind).toBe('value');
          const expected = s.type === 'PHP' ? stored : jsonModeView(stored);
          if (reading.kind === 'value') expect(serialize(reading.value)).toEqual(serialize(expected));
        }
      }),
      runs(2000),
    );
  });
});
