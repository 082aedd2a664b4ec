// The byte-exact vectors of docs/value-formats.md (what RedisBagOStuff and RESTBagOStuff store for each PHP value),
// asserted literally. Real PHP 8.2 agrees with every entry (checked by generate-vectors.php and php-vectors.unit.test.ts).

import { describe, expect, it } from 'vitest';
import { envelopeToRedis, redisToEnvelope } from '../../src/codec/convert.js';
import { decodeEnvelope, type EnvelopeSettings, encodeEnvelope } from '../../src/codec/envelope.js';
import { PhpArray, type PhpValue, phpString } from '../../src/codec/php-value.js';
import { decodeRedisValue, encodeRedisValue } from '../../src/codec/redis-format.js';

const KEY = Buffer.from('secret');
const php = (hmacKey: Buffer | null): EnvelopeSettings => ({ type: 'PHP', hmacKey });
const json = (hmacKey: Buffer | null): EnvelopeSettings => ({ type: 'JSON', hmacKey });

interface Row {
  name: string;
  value: PhpValue;
  redis: string;
  phpPlain: string;
  jsonPlain: string;
  phpSigned?: string;
  jsonSigned?: string;
}

const ROWS: Row[] = [
  {
    name: 'int 20201010123456',
    value: 20201010123456n,
    redis: '20201010123456',
    phpPlain: 'PHP..i:20201010123456;',
    jsonPlain: 'JSON..20201010123456',
    phpSigned: 'PHP.YdJczcGkdfq8T7ucKKUp1aqzP+bjO/nYhWgnKdj8VJ4=.i:20201010123456;',
    jsonSigned: 'JSON.oJoEix7p58nG8vFIqhWFC0Z9hYFCoj1LwMltYHh8TOI=.20201010123456',
  },
  {
    name: "string '20201010123456' (what Echo stores)",
    value: phpString('20201010123456'),
    redis: 's:14:"20201010123456";',
    phpPlain: 'PHP..s:14:"20201010123456";',
    jsonPlain: 'JSON.."20201010123456"',
    phpSigned: 'PHP.wATC51GdmeBf3AoYZGWEJ7f6eJlxI9zDd3SsVpHfdYE=.s:14:"20201010123456";',
    jsonSigned: 'JSON.RZ3pl+swTEYAdxIBlUBvdnq8oHi4zB9bS63XD/V9ksE=."20201010123456"',
  },
  {
    name: 'false',
    value: false,
    redis: 'b:0;',
    phpPlain: 'PHP..b:0;',
    jsonPlain: 'JSON..false',
    phpSigned: 'PHP.NtGwZSmdYDTnCJtP6XmVEvbl7dOiFGRaEIf5wF3p6+g=.b:0;',
    jsonSigned: 'JSON.aiD5/D4UiYhWhNBQIYJm6Y6KkyyOvifPv5fKBfmSxd0=.false',
  },
  {
    name: "['a'=>1]",
    value: new PhpArray([[phpString('a'), 1n]]),
    redis: 'a:1:{s:1:"a";i:1;}',
    phpPlain: 'PHP..a:1:{s:1:"a";i:1;}',
    jsonPlain: 'JSON..{"a":1}',
    phpSigned: 'PHP.X+zh2z7PuSCZq7mckbd9mTE3tvzYAkMAceBgUv4nZbo=.a:1:{s:1:"a";i:1;}',
    jsonSigned: 'JSON.qp4uNXX11wmLbKzNeQiIw21f22M0KnO62i1qUXR6hJQ=.{"a":1}',
  },
  {
    name: "['x','y']",
    value: new PhpArray([
      [0n, phpString('x')],
      [1n, phpString('y')],
    ]),
    redis: 'a:2:{i:0;s:1:"x";i:1;s:1:"y";}',
    phpPlain: 'PHP..a:2:{i:0;s:1:"x";i:1;s:1:"y";}',
    jsonPlain: 'JSON..["x","y"]',
  },
  { name: 'int 1 (lock value)', value: 1n, redis: '1', phpPlain: 'PHP..i:1;', jsonPlain: 'JSON..1' },
  { name: 'null', value: null, redis: 'N;', phpPlain: 'PHP..N;', jsonPlain: 'JSON..null' },
  { name: 'true', value: true, redis: 'b:1;', phpPlain: 'PHP..b:1;', jsonPlain: 'JSON..true' },
  {
    name: "string 'a/b'",
    value: phpString('a/b'),
    redis: 's:3:"a/b";',
    phpPlain: 'PHP..s:3:"a/b";',
    jsonPlain: 'JSON.."a\\/b"',
  },
];

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('docs/value-formats.md byte-exact vectors', () => {
  describe.each(ROWS.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    it('RedisBagOStuff bytes', () => {
      expect(encodeRedisValue(row.value)).toEqual(bytes(row.redis));
      expect(decodeRedisValue(bytes(row.redis))).toEqual(row.value);
    });

    it('REST bodies without HMAC', () => {
      expect(encodeEnvelope(row.value, php(null))).toEqual(bytes(row.phpPlain));
      expect(encodeEnvelope(row.value, json(null))).toEqual(bytes(row.jsonPlain));
      expect(decodeEnvelope(bytes(row.phpPlain), php(null))).toEqual(row.value);
      expect(decodeEnvelope(bytes(row.jsonPlain), json(null))).toEqual(row.value);
    });

    const { phpSigned, jsonSigned } = row;
    if (phpSigned !== undefined && jsonSigned !== undefined) {
      it("REST bodies with hmac_key 'secret'", () => {
        expect(encodeEnvelope(row.value, php(KEY))).toEqual(bytes(phpSigned));
        expect(encodeEnvelope(row.value, json(KEY))).toEqual(bytes(jsonSigned));
        expect(decodeEnvelope(bytes(phpSigned), php(KEY))).toEqual(row.value);
        expect(decodeEnvelope(bytes(jsonSigned), json(KEY))).toEqual(row.value);
      });
    }

    it('Redis → REST conversion (false is a miss, so there is nothing to convert)', () => {
      const expected = (body: string) =>
        row.value === false ? { ok: false, reason: 'FALSE_VALUE' } : { ok: true, bytes: bytes(body) };
      expect(redisToEnvelope(bytes(row.redis), php(null))).toEqual(expected(row.phpPlain));
      expect(redisToEnvelope(bytes(row.redis), json(null))).toEqual(expected(row.jsonPlain));
      if (row.phpSigned !== undefined) {
        expect(redisToEnvelope(bytes(row.redis), php(KEY))).toEqual(expected(row.phpSigned));
        expect(redisToEnvelope(bytes(row.redis), json(KEY))).toEqual(expected(row.jsonSigned!));
      }
    });

    it('REST → Redis conversion', () => {
      expect(envelopeToRedis(bytes(row.phpPlain), php(null))).toEqual({ ok: true, bytes: bytes(row.redis) });
      expect(envelopeToRedis(bytes(row.jsonPlain), json(null))).toEqual({
        ok: true,
        bytes: bytes(row.redis),
      });
    });
  });

  it('lengths: JSON.."20201010123456" is 22 bytes, PHP..s:14:"20201010123456"; is 27', () => {
    expect(encodeEnvelope(phpString('20201010123456'), json(null))).toHaveLength(22);
    expect(encodeEnvelope(phpString('20201010123456'), php(null))).toHaveLength(27);
  });

  it('Echo example: s:14:"20191029142837"; ⇄ JSON.."20191029142837" stays a JSON string', () => {
    const redis = bytes('s:14:"20191029142837";');
    const body = bytes('JSON.."20191029142837"');
    expect(redisToEnvelope(redis, json(null))).toEqual({ ok: true, bytes: body });
    expect(envelopeToRedis(body, json(null))).toEqual({ ok: true, bytes: redis });
  });
});
