// fast-check generators for PHP values as the codec's decoders produce them: array keys already in the form PHP
// holds them (numeric strings are ints) and unique, byte strings that may or may not be UTF-8, every float.

import fc from 'fast-check';
import { type EnvelopeSettings, encodeEnvelope, sealEnvelope } from '../../src/codec/envelope.js';
import { normalizeArrayKey } from '../../src/codec/php-array-key.js';
import { jsonEncode } from '../../src/codec/php-json.js';
import { serialize } from '../../src/codec/php-serialize.js';
import { PhpArray, PhpObject, type PhpValue } from '../../src/codec/php-value.js';
import { encodeRedisValue } from '../../src/codec/redis-format.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export const phpInt: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n, 20201010123456n),
);

/** Every double, with the awkward ones (±0, ±INF, NAN, subnormals, powers of ten) over-represented. */
export const phpFloat: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    0.1,
    1e15,
    1e16,
    1e17,
    1e-4,
    1e-5,
    5e-324,
    Number.MAX_VALUE,
    Infinity,
    -Infinity,
    NaN,
  ),
  fc.integer({ min: -400, max: 400 }).map((e) => 10 ** e),
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }).map((n) => n / 1024),
);

export const utf8Bytes: fc.Arbitrary<Buffer> = fc
  .string({ unit: 'binary', maxLength: 12 })
  .map((s) => Buffer.from(s, 'utf8'));

/** Text that is mostly digits, so numeric-looking strings ("5", "-0", "007") come up often. */
const numericish: fc.Arbitrary<Buffer> = fc
  .string({ unit: fc.constantFrom('0', '1', '5', '9', '-', '+', '.', 'e', ' '), maxLength: 6 })
  .map((s) => Buffer.from(s, 'latin1'));

export const anyBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u));

export const phpBytes: fc.Arbitrary<Buffer> = fc.oneof(utf8Bytes, numericish, anyBytes);

const className: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom('stdClass', 'Foo', '_x', 'A\\B'),
    fc.string({ unit: fc.constantFrom('a', 'Z', '9', '_'), maxLength: 4 }),
  )
  .map(([head, tail]) => Buffer.from(head + tail, 'latin1'));

function hashKey(key: bigint | Buffer): string {
  return typeof key === 'bigint' ? `i${key}` : `s${key.toString('latin1')}`;
}

interface ValueOptions {
  /** Leave out objects, invalid UTF-8 and INF/NAN: only what json_encode accepts. */
  jsonSafe: boolean;
  maxDepth: number;
}

/** PHP values as PHP holds them: unique, normalized array keys; objects with unique property names. */
export function phpValue({ jsonSafe, maxDepth }: ValueOptions): fc.Arbitrary<PhpValue> {
  const bytes = jsonSafe ? fc.oneof(utf8Bytes, numericish) : phpBytes;
  const float = jsonSafe ? phpFloat.filter(Number.isFinite) : phpFloat;
  const key = fc.oneof(phpInt, bytes).map(normalizeArrayKey);
  const { value } = fc.letrec<{ value: PhpValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth },
      fc.constantFrom<PhpValue>(null, true, false),
      phpInt,
      float,
      bytes,
      fc
        .uniqueArray(fc.tuple(key, tie('value')), { selector: ([k]) => hashKey(k), maxLength: 5 })
        .map((entries) => new PhpArray(entries)),
      ...(jsonSafe
        ? []
        : [
            fc
              .tuple(
                className,
                fc.uniqueArray(fc.tuple(bytes, tie('value')), {
                  selector: ([k]) => hashKey(k),
                  maxLength: 4,
                }),
              )
              .map(([name, props]) => new PhpObject(name, props)),
          ]),
    ),
  }));
  return value;
}

/** Valid encodings of random values, then damaged: truncated, bytes overwritten or inserted. */
const damagedEncodings: fc.Arbitrary<Buffer> = fc
  .tuple(
    phpValue({ jsonSafe: false, maxDepth: 3 }),
    fc.constantFrom('serialize', 'json', 'envelope'),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')), {
      maxLength: 3,
    }),
  )
  .map(([value, format, edits]) => {
    let bytes = encodeAsFarAsPossible(value, format);
    for (const [at, byte, edit] of edits) bytes = applyEdit(bytes, at, byte, edit);
    return bytes;
  });

function encodeAsFarAsPossible(value: PhpValue, format: string): Buffer {
  try {
    if (format === 'json') return jsonEncode(value);
    if (format === 'envelope') return encodeEnvelope(value, { type: 'PHP', hmacKey: Buffer.from('secret') });
  } catch {
    // not JSON-encodable: fall through to serialize
  }
  return serialize(value);
}

function applyEdit(bytes: Buffer, at: number, byte: number, edit: string): Buffer {
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  if (edit === 'cut') return bytes.subarray(0, i);
  if (edit === 'insert') return Buffer.concat([bytes.subarray(0, i), Buffer.of(byte), bytes.subarray(i)]);
  const copy = Buffer.from(bytes);
  if (copy.length > 0) copy[i] = byte;
  return copy;
}

/** serialize() output with one small syntax-level tweak (a zero, sign, dot, exponent...), often still valid. */
export const tweakedSerializations: fc.Arbitrary<Buffer> = fc
  .tuple(
    phpValue({ jsonSafe: false, maxDepth: 3 }),
    fc.nat(),
    fc.constantFrom('0', '00', '+', '-', '.', 'e', 'E1', '5', ';', ':', '}', '{', '"', 'N;', 'i:0;', '\\'),
    fc.boolean(),
  )
  .map(([value, at, text, replace]) => {
    const bytes = serialize(value);
    const i = at % (bytes.length + 1);
    const tweak = Buffer.from(text, 'latin1');
    return Buffer.concat([bytes.subarray(0, i), tweak, bytes.subarray(replace ? i + 1 : i)]);
  });

/** Input a decoder may meet: random bytes, random serialize/JSON syntax soup, and damaged valid encodings. */
export const hostileBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
  fc
    .string({ unit: fc.constantFrom(...'aiObdsSNRC:;{}"0123456789-+.eE[],tfnul\\'), maxLength: 40 })
    .map((s) => Buffer.from(s, 'latin1')),
  damagedEncodings,
  tweakedSerializations,
);

/** RESTBagOStuff settings: either type, unsigned or signed with any key. */
export const envelopeSettings: fc.Arbitrary<EnvelopeSettings> = fc.record({
  type: fc.constantFrom('PHP' as const, 'JSON' as const),
  hmacKey: fc.oneof(
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  ),
});

/** Bodies of every kind a client may POST: values under these or other settings, damaged envelopes, junk. */
export function anyBody(s: EnvelopeSettings): fc.Arbitrary<Buffer> {
  const base = fc.oneof(
    fc.tuple(phpValue({ jsonSafe: true, maxDepth: 3 }), fc.constant(s)).map(([v, t]) => encodeEnvelope(v, t)),
    fc
      .tuple(phpValue({ jsonSafe: true, maxDepth: 3 }), envelopeSettings)
      .map(([v, t]) => encodeEnvelope(v, t)),
    fc
      .tuple(phpValue({ jsonSafe: false, maxDepth: 3 }), fc.constant({ ...s, type: 'PHP' as const }))
      .map(([v, t]) => encodeEnvelope(v, t)),
    hostileBytes.map((payload) => sealEnvelope(payload, s)),
    hostileBytes,
    fc
      .constantFrom(
        'KASK:V:INTEGRATION_TEST_VALUE',
        'JSON..false',
        'PHP..b:0;',
        'PHP..b:0;junk',
        'JSON..1',
        'PHP..i:1;',
        'b:0;',
        'v',
        // PHP payloads beyond the codec's judgement: references, Serializable, enums
        'PHP..a:2:{i:0;i:1;i:1;R:2;}',
        'PHP..a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}',
        'PHP..C:3:"Foo":0:{}',
        'PHP..E:7:"Foo:Bar";',
        // a JSON float PHP reads as a float, which json_encode writes back without its fraction
        'JSON..-4.0',
      )
      .map((text) => Buffer.from(text, 'latin1')),
  );
  // Bodies that themselves start with `b:0;`, so the prefix is exercised at both levels.
  return fc.oneof(
    base,
    base.map((b) => Buffer.concat([Buffer.from('b:0;'), b])),
  );
}

/** Redis values: what RedisBagOStuff writes for any value, `b:0;` + anything, and damaged bytes. */
export function anyRedis(s: EnvelopeSettings): fc.Arbitrary<Buffer> {
  return fc.oneof(
    phpValue({ jsonSafe: false, maxDepth: 3 }).map(encodeRedisValue),
    fc
      .constantFrom('a:2:{i:0;i:1;i:1;R:2;}', 'a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}', 'C:3:"Foo":0:{}')
      .map((text) => Buffer.from(text, 'latin1')),
    anyBody(s).map((b) => Buffer.concat([Buffer.from('b:0;'), b])),
    hostileBytes,
  );
}
