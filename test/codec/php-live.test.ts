// Cross-checks generated values and damaged inputs against the real php CLI in one batch (php is a required
// test dependency). Seeded for reproducibility; CODEC_PHP_SEED=<n> explores other samples.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatPhpFloat } from '../../src/codec/php-float-format.js';
import { jsonDecode, jsonEncode } from '../../src/codec/php-json.js';
import { serialize, unserialize } from '../../src/codec/php-serialize.js';
import { CodecError, PhpArray, PhpObject, type PhpValue } from '../../src/codec/php-value.js';
import { encodeRedisValue } from '../../src/codec/redis-format.js';
import { hostileBytes, phpFloat, phpValue } from './php-arbitraries.js';

const SEED = Number(process.env['CODEC_PHP_SEED'] ?? 20201010);
const SCRIPT = fileURLToPath(new URL('../fixtures/php/cross-check.php', import.meta.url));

interface PhpAnswers {
  values: Array<{ serialize: string; json: string | null; redis: string }>;
  blobs: Array<string | null>;
  json: Array<string | null>;
  floats: Array<{ serialize: string; json: string | false }>;
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

function containsObject(value: PhpValue): boolean {
  if (value instanceof PhpObject) return true;
  if (value instanceof PhpArray) return value.entries.some(([, v]) => containsObject(v));
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
      if (containsObject(v)) expect(ours, `json #${i} refuses objects`).toBeNull();
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

  it('float formatting in serialize and json_encode', () => {
    floats.forEach((f, i) => {
      const answer = php.floats[i]!;
      expect(`d:${formatPhpFloat(f, 'E')};`, `serialize ${hex(f)}`).toBe(answer.serialize);
      const json = Number.isFinite(f) ? formatPhpFloat(f, 'e') : false;
      expect(json, `json_encode ${hex(f)}`).toBe(answer.json);
    });
  });
});
