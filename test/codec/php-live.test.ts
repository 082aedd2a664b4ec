// Cross-checks generated values and damaged inputs against the real php CLI in one batch (php is a required
// test dependency). Seeded for reproducibility; CODEC_PHP_SEED=<n> explores other samples.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conversion, envelopeToRedis, redisToEnvelope } from '../../src/codec/convert.js';
import type { EnvelopeSettings } from '../../src/codec/envelope.js';
import { formatPhpFloat } from '../../src/codec/php-float-format.js';
import { jsonDecode, jsonEncode } from '../../src/codec/php-json.js';
import { serialize, unserialize } from '../../src/codec/php-serialize.js';
import { CodecError, PhpArray, PhpObject, type PhpValue } from '../../src/codec/php-value.js';
import { encodeRedisValue } from '../../src/codec/redis-format.js';
import { anyBody, anyRedis, hostileBytes, phpFloat, phpValue } from './php-arbitraries.js';

const SEED = Number(process.env['CODEC_PHP_SEED'] ?? 20201010);
const SCRIPT = fileURLToPath(new URL('../fixtures/php/cross-check.php', import.meta.url));

interface PhpAnswers {
  values: Array<{ serialize: string; json: string | null; redis: string }>;
  blobs: Array<string | null>;
  json: Array<string | null>;
  floats: Array<{ serialize: string; json: string | false }>;
  /** serialize() of what MediaWiki reads from the body, RedisBagOStuff from our bytes, MediaWiki from our body. */
  bodies: Array<{
    mediawiki: string | null;
    viaJson: string | null;
    redis: string | null;
    back: string | null;
  }>;
  redis: Array<{ stored: string | null; viaJson: string | null; jsonRefused: boolean; back: string | null }>;
}

/** One conversion case sent to PHP: the settings, the input and what the codec made of it. */
interface ConversionCase {
  type: 'PHP' | 'JSON';
  key: string;
  input: Buffer;
  first: Conversion;
  second: Conversion | null;
}

const values = fc.sample(phpValue({ jsonSafe: false, maxDepth: 4 }), { numRuns: 400, seed: SEED });
const blobs = fc.sample(hostileBytes, { numRuns: 3000, seed: SEED + 1 });
const jsonDocs = [
  ...fc.sample(fc.json(), { numRuns: 500, seed: SEED + 2 }).map((text) => Buffer.from(text, 'utf8')),
  ...fc
    .sample(phpValue({ jsonSafe: true, maxDepth: 4 }), { numRuns: 500, seed: SEED + 3 })
    .map((v) => jsonEncode(v)),
  ...blobs.slice(0, 1000),
];
const floats = fc.sample(phpFloat, { numRuns: 3000, seed: SEED + 4 });

/** Printable HMAC keys, so PHP receives the very key bytes through JSON. */
const liveSettings = fc.record({
  type: fc.constantFrom('PHP' as const, 'JSON' as const),
  key: fc.constantFrom('', 'secret', 'an HMAC key'),
});
const settingsOf = (c: { type: 'PHP' | 'JSON'; key: string }): EnvelopeSettings => ({
  type: c.type,
  hmacKey: c.key === '' ? null : Buffer.from(c.key),
});

/** Bodies → Redis bytes → body served back, each step by the codec. */
const bodyCases: ConversionCase[] = fc
  .sample(
    liveSettings.chain((c) => fc.tuple(fc.constant(c), anyBody(settingsOf(c)))),
    { numRuns: 1500, seed: SEED + 5 },
  )
  .map(([c, body]) => {
    const first = envelopeToRedis(body, settingsOf(c));
    return {
      ...c,
      input: body,
      first,
      second: first.ok ? redisToEnvelope(first.bytes, settingsOf(c)) : null,
    };
  });

/** Redis bytes → body served → Redis bytes written for it, each step by the codec. */
const redisCases: ConversionCase[] = fc
  .sample(
    liveSettings.chain((c) => fc.tuple(fc.constant(c), anyRedis(settingsOf(c)))),
    { numRuns: 1500, seed: SEED + 6 },
  )
  .map(([c, redis]) => {
    const first = redisToEnvelope(redis, settingsOf(c));
    return {
      ...c,
      input: redis,
      first,
      second: first.ok ? envelopeToRedis(first.bytes, settingsOf(c)) : null,
    };
  });

const b64OrNull = (c: Conversion | null): string | null => (c?.ok ? c.bytes.toString('base64') : null);
const FALSE_MEANING = Buffer.from('b:0;').toString('base64');

/** The codec JSON-encodes stdClass only: any other class's json_encode depends on its definition. */
function containsForeignObject(value: PhpValue): boolean {
  if (value instanceof PhpObject)
    return (
      value.className.toString('latin1').toLowerCase() !== 'stdclass' ||
      value.props.some(([, v]) => containsForeignObject(v))
    );
  if (value instanceof PhpArray) return value.entries.some(([, v]) => containsForeignObject(v));
  return false;
}

function outcome(run: () => PhpValue): string | null {
  try {
    return serialize(run()).toString('base64');
  } catch (error) {
    if (error instanceof CodecError) return error.code === 'UNSUPPORTED' ? 'UNSUPPORTED' : null;
    throw error;
  }
}

function hex(f: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(f);
  return b.toString('hex');
}

let php: PhpAnswers;

beforeAll(() => {
  const input = JSON.stringify({
    values: values.map((v) => serialize(v).toString('base64')),
    blobs: blobs.map((b) => b.toString('base64')),
    json: jsonDocs.map((b) => b.toString('base64')),
    floats: floats.map(hex),
    bodies: bodyCases.map((c) => ({
      type: c.type,
      key: c.key,
      body: c.input.toString('base64'),
      redis: b64OrNull(c.first),
      back: b64OrNull(c.second),
    })),
    redis: redisCases.map((c) => ({
      type: c.type,
      key: c.key,
      redis: c.input.toString('base64'),
      back: b64OrNull(c.first),
    })),
  });
  const run = spawnSync('php', [SCRIPT], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`php failed: ${run.stderr}`);
  php = JSON.parse(run.stdout) as PhpAnswers;
});

describe(`real php agrees (seed ${SEED})`, () => {
  it('serialize, json_encode and RedisBagOStuff bytes of generated values', () => {
    values.forEach((v, i) => {
      const answer = php.values[i]!;
      expect(serialize(v).toString('base64'), `serialize #${i}`).toBe(answer.serialize);
      expect(encodeRedisValue(v).toString('base64'), `redis #${i}`).toBe(answer.redis);
      let ours: string | null;
      try {
        ours = jsonEncode(v).toString('base64');
      } catch {
        ours = null;
      }
      if (containsForeignObject(v)) expect(ours, `json #${i} refuses non-stdClass objects`).toBeNull();
      else expect(ours, `json_encode #${i}`).toBe(answer.json);
    });
  });

  it('unserialize verdicts on random and damaged input', () => {
    let unsupported = 0;
    blobs.forEach((blob, i) => {
      const ours = outcome(() => unserialize(blob));
      const theirs = php.blobs[i] ?? null;
      if (ours === 'UNSUPPORTED') unsupported++;
      else expect(ours, `unserialize ${JSON.stringify(blob.toString('latin1'))}`).toBe(theirs);
    });
    expect(unsupported).toBeLessThan(blobs.length / 10);
    // Not vacuous: a good share of the damaged inputs still parse, so PHP's quirks get exercised.
    expect(php.blobs.filter((b) => b !== null).length).toBeGreaterThan(blobs.length / 20);
  });

  it('json_decode verdicts on generated, re-encoded and damaged documents', () => {
    jsonDocs.forEach((doc, i) => {
      expect(
        outcome(() => jsonDecode(doc)),
        `json_decode ${JSON.stringify(doc.toString('latin1'))}`,
      ).toBe(php.json[i] ?? null);
    });
    expect(php.json.filter((b) => b !== null).length).toBeGreaterThan(jsonDocs.length / 3);
  });

  it('a body and the Redis bytes it becomes mean the same to PHP, and so does the body served back', () => {
    let opaque = 0;
    bodyCases.forEach((c, i) => {
      const answer = php.bodies[i]!;
      const what = `${c.type}/${c.key || 'no key'} ${JSON.stringify(c.input.toString('latin1'))}`;
      // Every body has a Redis form, payloads beyond the codec (references, C:, E:) included.
      expect(c.first.ok, what).toBe(true);
      if (!c.first.ok) return;
      expect(answer.redis, `RedisBagOStuff reads ${what}`).toBe(answer.mediawiki);
      const servedBack = c.type === 'PHP' ? answer.mediawiki : answer.viaJson;
      if (c.second!.ok) expect(answer.back, `served back ${what}`).toBe(servedBack);
      else expect(answer.mediawiki, `a miss only for a miss ${what}`).toBe(FALSE_MEANING);
      if (answer.mediawiki === FALSE_MEANING && c.second!.ok) {
        // A body PHP reads as a miss comes back byte for byte.
        expect(c.second!.bytes.equals(c.input), `byte-exact ${what}`).toBe(true);
        opaque++;
      }
    });
    expect(opaque).toBeGreaterThan(bodyCases.length / 10);
  });

  it('a Redis value and the body served for it mean the same to PHP (JSON: as RESTBagOStuff JSON stores it)', () => {
    let converted = 0;
    redisCases.forEach((c, i) => {
      const answer = php.redis[i]!;
      const what = `${c.type}/${c.key || 'no key'} ${JSON.stringify(c.input.toString('latin1'))}`;
      if (!c.first.ok) {
        if (c.first.reason === 'FALSE_VALUE' || c.first.reason === 'MALFORMED')
          expect(answer.stored, `PHP reads false ${what}`).toBe(FALSE_MEANING);
        else if (c.first.reason === 'NOT_JSON_ENCODABLE' || c.first.reason === 'NOT_UTF8')
          expect(answer.jsonRefused, `json_encode refuses or depends on a class ${what}`).toBe(true);
        else {
          expect(c.first.reason, what).toBe('UNSUPPORTED'); // JSON needs the value; PHP carries the bytes
          expect(c.type, what).toBe('JSON');
        }
        return;
      }
      converted++;
      const expected = c.type === 'PHP' ? answer.stored : answer.viaJson;
      expect(answer.back, `MediaWiki reads ${what}`).toBe(expected);
      if (c.type === 'JSON') expect(answer.jsonRefused, `not refused by PHP ${what}`).toBe(false);
    });
    expect(converted).toBeGreaterThan(redisCases.length / 3);
  });

  it('float formatting in serialize and json_encode', () => {
    floats.forEach((f, i) => {
      const answer = php.floats[i]!;
      expect(`d:${formatPhpFloat(f, 'E')};`, `serialize ${hex(f)}`).toBe(answer.serialize);
      const json = Number.isFinite(f) ? formatPhpFloat(f, 'e') : false;
      expect(json, `json_encode ${hex(f)}`).toBe(answer.json);
    });
  });
});
