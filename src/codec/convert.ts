// The two conversions the proxy runs per request, Redis bytes ⇄ REST envelope. Each is a pure function of its
// input bytes and settings, so a body served from Redis and the body backfilled into Kask are byte-identical
// (MediaWiki uses the raw body as its CAS token). Neither ever throws: failures come back as a reason.
//
// PHP payloads are carried verbatim, not re-serialized: they already are serialize() output that PHP's own
// unserialize() accepts, and a PHP client reads the verbatim bytes exactly as it read them from the other store,
// even where they are not canonical (`d:0.10;`, `i:+5;`, trailing bytes after the value). They are still parsed
// in full first, so nothing PHP would reject is ever copied across.

import { type EnvelopeSettings, openEnvelope, sealEnvelope } from './envelope.js';
import { parseIntegerString } from './integer-string.js';
import { jsonDecode, jsonEncode } from './php-json.js';
import { unserialize } from './php-serialize.js';
import { CodecError, type CodecErrorCode } from './php-value.js';
import { encodeRedisValue } from './redis-format.js';

/** A converted value, or why there is none. FALSE_VALUE: the source holds PHP false, which PHP reads as a miss. */
export type Conversion = { ok: true; bytes: Buffer } | { ok: false; reason: CodecErrorCode | 'FALSE_VALUE' };

/**
 * Redis (RedisBagOStuff) bytes → the RESTBagOStuff body MediaWiki would read as the same value.
 * An integer string becomes `i:N;` / `N`; any other blob must unserialize; PHP false is FALSE_VALUE.
 */
export function redisToEnvelope(redisBytes: Uint8Array, s: EnvelopeSettings): Conversion {
  return guarded(() => {
    const int = parseIntegerString(redisBytes);
    if (int !== null)
      return sealEnvelope(Buffer.from(s.type === 'PHP' ? `i:${int};` : `${int}`, 'latin1'), s);
    const value = unserialize(redisBytes);
    if (value === false) return null;
    return sealEnvelope(s.type === 'PHP' ? redisBytes : jsonEncode(value), s);
  });
}

/**
 * A RESTBagOStuff body → the bytes RedisBagOStuff would store for the same value. The HMAC is verified when a key
 * is set. A PHP int payload becomes bare digits; other PHP payloads are copied verbatim once they parse; JSON
 * payloads are decoded and re-encoded the Redis way. A stored false converts to `b:0;`, which Redis readers
 * treat as a miss just as RESTBagOStuff readers treat the body, so both stores keep answering the same.
 */
export function envelopeToRedis(body: Uint8Array, s: EnvelopeSettings): Conversion {
  return guarded(() => {
    const payload = openEnvelope(body, s);
    if (s.type === 'JSON') return encodeRedisValue(jsonDecode(payload));
    const value = unserialize(payload);
    return typeof value === 'bigint' ? encodeRedisValue(value) : Buffer.from(payload);
  });
}

/** Runs a conversion, turning CodecError into its reason and a null result into FALSE_VALUE; never throws. */
function guarded(convert: () => Buffer | null): Conversion {
  try {
    const bytes = convert();
    return bytes === null ? { ok: false, reason: 'FALSE_VALUE' } : { ok: true, bytes };
  } catch (error) {
    // Anything but a CodecError is a defect, not a verdict on the input; it still must not escape the hot path.
    return { ok: false, reason: error instanceof CodecError ? error.code : 'UNSUPPORTED' };
  }
}
