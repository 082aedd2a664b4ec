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
    expect(redisToEnvelope(bytes('O:3:"Foo":0:{}'), JSON_)).toEqual({
      ok: false,
      reason: 'NOT_JSON_ENCODABLE',
    });
    expect(redisToEnvelope(bytes('O:3:"Foo":0:{}'), PHP)).toEqual(ok('PHP..O:3:"Foo":0:{}'));
  });

  it('a stdClass becomes the JSON object RESTBagOStuff JSON mode would store; PHP mode carries it verbatim', () => {
    expect(redisToEnvelope(bytes('O:8:"stdClass":0:{}'), JSON_)).toEqual(ok('JSON..{}'));
    expect(redisToEnvelope(bytes('O:8:"stdClass":1:{s:1:"a";O:8:"stdClass":0:{}}'), JSON_)).toEqual(
      ok('JSON..{"a":{}}'),
    );
    expect(redisToEnvelope(bytes('O:8:"stdClass":0:{}'), PHP)).toEqual(ok('PHP..O:8:"stdClass":0:{}'));
    // Protected and private (NUL-mangled) names are not visible to json_encode.
    expect(redisToEnvelope(bytes('O:8:"stdClass":2:{s:4:"\0*\0p";i:1;s:1:"q";i:2;}'), JSON_)).toEqual(
      ok('JSON..{"q":2}'),
    );
    // A stdClass holding an object of another class is refused as a whole.
    expect(redisToEnvelope(bytes('O:8:"stdClass":1:{s:1:"c";O:3:"Foo":0:{}}'), JSON_)).toEqual({
      ok: false,
      reason: 'NOT_JSON_ENCODABLE',
    });
  });

  it('PHP false followed by an opaque body is that body; followed by anything else it stays PHP false', () => {
    const xample = 'KASK:V:INTEGRATION_TEST_VALUE';
    expect(redisToEnvelope(bytes(`b:0;${xample}`), JSON_)).toEqual(ok(xample));
    expect(redisToEnvelope(bytes(`b:0;${xample}`), PHP)).toEqual(ok(xample));
    expect(redisToEnvelope(bytes('b:0;JSON..1'), PHP)).toEqual(ok('JSON..1'));
    // Under JSON settings `JSON..1` is a value MediaWiki reads as 1: Redis says false, so that is the answer.
    expect(redisToEnvelope(bytes('b:0;JSON..1'), JSON_)).toEqual({ ok: false, reason: 'FALSE_VALUE' });
    expect(redisToEnvelope(bytes('b:0;JSON..false'), JSON_)).toEqual({ ok: false, reason: 'FALSE_VALUE' });
    // Signed settings: an unsigned body is opaque.
    expect(redisToEnvelope(bytes('b:0;PHP..i:1;'), SIGNED_PHP)).toEqual(ok('PHP..i:1;'));
  });

  it('references, C: and E: values: carried verbatim in PHP mode, impossible in JSON mode', () => {
    expect(redisToEnvelope(bytes('a:2:{i:0;i:1;i:1;R:2;}'), PHP)).toEqual(ok('PHP..a:2:{i:0;i:1;i:1;R:2;}'));
    expect(redisToEnvelope(bytes('a:2:{i:0;i:1;i:1;R:2;}'), JSON_)).toEqual({
      ok: false,
      reason: 'UNSUPPORTED',
    });
  });
});

describe('envelope → Redis', () => {
  it('a stored false becomes b:0;, which Redis readers also treat as a miss', () => {
    expect(envelopeToRedis(bytes('PHP..b:0;'), PHP)).toEqual(ok('b:0;'));
    expect(envelopeToRedis(bytes('PHP..b:0;junk'), PHP)).toEqual(ok('b:0;'));
    expect(envelopeToRedis(bytes('JSON..false'), JSON_)).toEqual(ok('b:0;'));
  });

  it('any PHP int payload becomes bare digits, however it was spelled', () => {
    expect(envelopeToRedis(bytes('PHP..i:05;'), PHP)).toEqual(ok('5'));
    expect(envelopeToRedis(bytes('PHP..i:99999999999999999999;'), PHP)).toEqual(ok('9223372036854775807'));
  });

  it('other PHP payloads are copied verbatim once they parse', () => {
    expect(envelopeToRedis(bytes('PHP..d:0.10;'), PHP)).toEqual(ok('d:0.10;'));
    expect(envelopeToRedis(bytes('PHP..a:1:{s:1:"5";i:1;}'), PHP)).toEqual(ok('a:1:{s:1:"5";i:1;}'));
    expect(envelopeToRedis(bytes('PHP..s:3:"abc"'), PHP)).toEqual(ok('b:0;PHP..s:3:"abc"'));
  });

  it('a PHP payload the codec cannot judge is carried verbatim: both stores unserialize the same bytes', () => {
    expect(envelopeToRedis(bytes('PHP..a:2:{i:0;i:1;i:1;R:2;}'), PHP)).toEqual(ok('a:2:{i:0;i:1;i:1;R:2;}'));
    expect(envelopeToRedis(bytes('PHP..C:3:"Foo":0:{}'), PHP)).toEqual(ok('C:3:"Foo":0:{}'));
  });

  it('JSON payloads are decoded the PHP way and stored the RedisBagOStuff way', () => {
    expect(envelopeToRedis(bytes('JSON..{"1":"a"}'), JSON_)).toEqual(ok('a:1:{i:1;s:1:"a";}'));
    expect(envelopeToRedis(bytes('JSON..1.0'), JSON_)).toEqual(ok('d:1;'));
    expect(envelopeToRedis(bytes('JSON..7'), JSON_)).toEqual(ok('7'));
  });

  it('a body MediaWiki reads as a miss (framing, type, HMAC, payload) is kept whole behind PHP false', () => {
    expect(envelopeToRedis(bytes('KASK:V:INTEGRATION_TEST_VALUE'), JSON_)).toEqual(
      ok('b:0;KASK:V:INTEGRATION_TEST_VALUE'),
    );
    expect(envelopeToRedis(bytes('PHP.i:1;'), PHP)).toEqual(ok('b:0;PHP.i:1;'));
    expect(envelopeToRedis(bytes('JSON..1'), PHP)).toEqual(ok('b:0;JSON..1'));
    expect(envelopeToRedis(bytes('PHP..i:1;'), SIGNED_PHP)).toEqual(ok('b:0;PHP..i:1;'));
    expect(envelopeToRedis(bytes('JSON..{'), JSON_)).toEqual(ok('b:0;JSON..{'));
    expect(envelopeToRedis(bytes('b:0;'), JSON_)).toEqual(ok('b:0;b:0;'));
  });
});
