// The conversion choices PHP itself does not dictate, spelled out one case each so they are easy to review.

import { describe, expect, it } from 'vitest';
import { envelopeToRedis, redisToEnvelope } from '../../src/codec/convert.js';
import type { EnvelopeSettings } from '../../src/codec/envelope.js';

const PHP: EnvelopeSettings = { type: 'PHP', hmacKey: null };
const JSON_: EnvelopeSettings = { type: 'JSON', hmacKey: null };
const SIGNED_PHP: EnvelopeSettings = { type: 'PHP', hmacKey: Buffer.from('secret') };
const bytes = (text: string) => Buffer.from(text, 'latin1');
const ok = (text: string) => ({ ok: true, bytes: bytes(text) });

describe('Redis → envelope', () => {
  it('PHP false is a miss to RedisBagOStuff, so there is nothing to serve', () => {
    expect(redisToEnvelope(bytes('b:0;'), PHP)).toEqual({ ok: false, reason: 'FALSE_VALUE' });
    expect(redisToEnvelope(bytes('b:0;'), JSON_)).toEqual({ ok: false, reason: 'FALSE_VALUE' });
  });

  it('a non-canonical PHP blob is carried verbatim for PHP and re-encoded for JSON', () => {
    expect(redisToEnvelope(bytes('d:0.10;'), PHP)).toEqual(ok('PHP..d:0.10;'));
    expect(redisToEnvelope(bytes('d:0.10;'), JSON_)).toEqual(ok('JSON..0.1'));
    expect(redisToEnvelope(bytes('s:1:"a";junk'), PHP)).toEqual(ok('PHP..s:1:"a";junk'));
  });

  it('an integer string is a PHP int; anything else that looks numeric must unserialize', () => {
    expect(redisToEnvelope(bytes('-42'), PHP)).toEqual(ok('PHP..i:-42;'));
    expect(redisToEnvelope(bytes('007'), PHP)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('values JSON cannot hold are refused with a reason', () => {
    expect(redisToEnvelope(bytes('s:1:"\xff";'), JSON_)).toEqual({ ok: false, reason: 'NOT_UTF8' });
    expect(redisToEnvelope(bytes('d:NAN;'), JSON_)).toEqual({ ok: false, reason: 'NOT_JSON_ENCODABLE' });
    expect(redisToEnvelope(bytes('O:8:"stdClass":0:{}'), JSON_)).toEqual({
      ok: false,
      reason: 'NOT_JSON_ENCODABLE',
    });
    expect(redisToEnvelope(bytes('O:8:"stdClass":0:{}'), PHP)).toEqual(ok('PHP..O:8:"stdClass":0:{}'));
  });

  it('references are not supported', () => {
    expect(redisToEnvelope(bytes('a:2:{i:0;i:1;i:1;R:2;}'), PHP)).toEqual({
      ok: false,
      reason: 'UNSUPPORTED',
    });
  });
});

describe('envelope → Redis', () => {
  it('a stored false becomes b:0;, which Redis readers also treat as a miss', () => {
    expect(envelopeToRedis(bytes('PHP..b:0;'), PHP)).toEqual(ok('b:0;'));
    expect(envelopeToRedis(bytes('JSON..false'), JSON_)).toEqual(ok('b:0;'));
  });

  it('any PHP int payload becomes bare digits, however it was spelled', () => {
    expect(envelopeToRedis(bytes('PHP..i:05;'), PHP)).toEqual(ok('5'));
    expect(envelopeToRedis(bytes('PHP..i:99999999999999999999;'), PHP)).toEqual(ok('9223372036854775807'));
  });

  it('other PHP payloads are copied verbatim once they parse', () => {
    expect(envelopeToRedis(bytes('PHP..d:0.10;'), PHP)).toEqual(ok('d:0.10;'));
    expect(envelopeToRedis(bytes('PHP..a:1:{s:1:"5";i:1;}'), PHP)).toEqual(ok('a:1:{s:1:"5";i:1;}'));
    expect(envelopeToRedis(bytes('PHP..s:3:"abc"'), PHP)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('JSON payloads are decoded the PHP way and stored the RedisBagOStuff way', () => {
    expect(envelopeToRedis(bytes('JSON..{"1":"a"}'), JSON_)).toEqual(ok('a:1:{i:1;s:1:"a";}'));
    expect(envelopeToRedis(bytes('JSON..1.0'), JSON_)).toEqual(ok('d:1;'));
    expect(envelopeToRedis(bytes('JSON..7'), JSON_)).toEqual(ok('7'));
  });

  it('framing, type and HMAC failures have their own reasons', () => {
    expect(envelopeToRedis(bytes('PHP.i:1;'), PHP)).toEqual({ ok: false, reason: 'BAD_ENVELOPE' });
    expect(envelopeToRedis(bytes('JSON..1'), PHP)).toEqual({ ok: false, reason: 'TYPE_MISMATCH' });
    expect(envelopeToRedis(bytes('PHP..i:1;'), SIGNED_PHP)).toEqual({ ok: false, reason: 'HMAC_MISMATCH' });
  });
});
