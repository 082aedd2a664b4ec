// The two conversions the proxy runs per request, Redis bytes ⇄ REST envelope. Each is a pure function of its
// input bytes and settings, so a body served from Redis and the body backfilled into Kask are byte-identical
// (MediaWiki uses the raw body as its CAS token). Neither ever throws: failures come back as a reason.
//
// PHP payloads are carried verbatim, not re-serialized: they already are serialize() output that PHP's own
// unserialize() accepts, and a PHP client reads the verbatim bytes exactly as it read them from the other store,
// even where they are not canonical (`d:0.10;`, `i:+5;`, trailing bytes after the value). They are still parsed
// in full first, so nothing PHP would reject is ever copied across as a value. The one exception is a payload the
// codec cannot judge (references, `C:`, `E:`): it is carried verbatim too, because both stores hand the same bytes to
// the same unserialize() in MediaWiki and so read the same thing.
//
// A body RESTBagOStuff reads as a miss without it being a stored false (not an envelope of the configured type, a
// bad HMAC, a payload that does not decode) is "opaque": it is stored in Redis as PHP false followed by the body's
// own bytes (`b:0;` + body). unserialize() stops after `b:0;` and ignores the rest, so RedisBagOStuff reads false,
// a miss, the meaning MediaWiki gives the body; and the way back strips the prefix, so the Kask API hands back
// exactly the bytes it was given (Kask's own `KASK:V:INTEGRATION_TEST_VALUE` monitoring value included). No value
// RedisBagOStuff writes starts with `b:0;` except false itself (exactly `b:0;`), and only opaque bodies become
// `b:0;` + something, so the uses of that prefix cannot be confused. See docs/protocol.md.

import { type EnvelopeSettings, openEnvelope, sealEnvelope } from './envelope.js';
import { parseIntegerString } from './integer-string.js';
import { jsonDecode, jsonEncode } from './php-json.js';
import { unserialize } from './php-serialize.js';
import { CodecError, type CodecErrorCode, type PhpValue } from './php-value.js';
import { encodeRedisValue } from './redis-format.js';

/** A converted value, or why there is none. FALSE_VALUE: the source holds PHP false, which PHP reads as a miss. */
export type Conversion = { ok: true; bytes: Buffer } | { ok: false; reason: CodecErrorCode | 'FALSE_VALUE' };

/** serialize(false): alone it is MediaWiki's stored false; followed by bytes, it carries an opaque body. */
export const OPAQUE_PREFIX: Buffer = Buffer.from('b:0;', 'latin1');

/** Why decodeBody() returns false for a body that is not a stored false: each of these is PHP's verdict too. */
const OPAQUE_REASONS: ReadonlySet<CodecErrorCode> = new Set([
  'BAD_ENVELOPE',
  'TYPE_MISMATCH',
  'HMAC_MISMATCH',
  'MALFORMED',
]);

/**
 * Redis (RedisBagOStuff) bytes → the RESTBagOStuff body MediaWiki would read as the same value.
 * An integer string becomes `i:N;` / `N`; `b:0;` + an opaque body becomes that body; any other blob must
 * unserialize (PHP: or be beyond the codec's judgement, carried verbatim); PHP false is FALSE_VALUE.
 */
export function redisToEnvelope(redisBytes: Uint8Array, s: EnvelopeSettings): Conversion {
  return guarded(() => {
    const int = parseIntegerString(redisBytes);
    if (int !== null)
      return sealEnvelope(Buffer.from(s.type === 'PHP' ? `i:${int};` : `${int}`, 'latin1'), s);
    if (startsWithFalse(redisBytes)) return opaqueBody(redisBytes.subarray(OPAQUE_PREFIX.length), s);
    if (s.type === 'PHP') return phpReads(redisBytes) === false ? null : sealEnvelope(redisBytes, s);
    const value = unserialize(redisBytes);
    if (value === false) return null; // unreachable: only `b:0;…` unserializes to false
    return sealEnvelope(jsonEncode(value), s);
  });
}

/**
 * A RESTBagOStuff body → the bytes RedisBagOStuff would store for the same value. The HMAC is verified when a key
 * is set. A PHP int payload becomes bare digits; other PHP payloads are copied verbatim once they parse; JSON
 * payloads are decoded and re-encoded the Redis way. A stored false becomes `b:0;`, which Redis readers treat as a
 * miss just as RESTBagOStuff readers treat the body; any other body MediaWiki reads as a miss (opaque) becomes
 * `b:0;` + the body. Never fails: every body MediaWiki can send has a Redis form.
 */
export function envelopeToRedis(body: Uint8Array, s: EnvelopeSettings): Conversion {
  return guarded(() => {
    const read = readBody(body, s);
    if (read === STORED_FALSE) return Buffer.from(OPAQUE_PREFIX);
    if (read !== OPAQUE) return read;
    const opaque = Buffer.allocUnsafe(OPAQUE_PREFIX.length + body.length);
    OPAQUE_PREFIX.copy(opaque, 0);
    opaque.set(body, OPAQUE_PREFIX.length);
    return opaque;
  });
}

const STORED_FALSE = Symbol('stored false');
const OPAQUE = Symbol('opaque');

/**
 * What decodeBody() reads from `body`: the Redis bytes of its value, a stored false, or nothing at all (OPAQUE: not
 * an envelope of this type, a bad HMAC, an undecodable payload). Total: every body has a Redis form.
 */
function readBody(body: Uint8Array, s: EnvelopeSettings): Buffer | typeof STORED_FALSE | typeof OPAQUE {
  try {
    const payload = openEnvelope(body, s);
    if (s.type === 'JSON') {
      const value = jsonDecode(payload);
      return value === false ? STORED_FALSE : encodeRedisValue(value);
    }
    const value = phpReads(payload);
    if (value === false) return STORED_FALSE;
    return typeof value === 'bigint' ? encodeRedisValue(value) : Buffer.from(payload);
  } catch (error) {
    if (error instanceof CodecError && OPAQUE_REASONS.has(error.code)) return OPAQUE;
    throw error;
  }
}

const UNKNOWN = Symbol('unknown to the codec');

/**
 * unserialize() of a PHP payload about to be carried verbatim. Bytes PHP rejects throw MALFORMED. A payload the
 * codec cannot judge (references, `C:`, `E:`) is UNKNOWN and still carried: it starts with a type tag, so it is
 * never an integer string, and RESTBagOStuff and RedisBagOStuff both hand those very bytes to the same
 * unserialize(), so they read the same thing, whatever that is.
 */
function phpReads(payload: Uint8Array): PhpValue | typeof UNKNOWN {
  try {
    return unserialize(payload);
  } catch (error) {
    if (error instanceof CodecError && error.code === 'UNSUPPORTED') return UNKNOWN;
    throw error;
  }
}

/**
 * The rest of a Redis value that starts with `b:0;`. RedisBagOStuff reads all of it as false; the rest is handed
 * back only when it is an opaque body (what envelopeToRedis stores that way), which MediaWiki reads as a miss too,
 * so the answer never turns a Redis miss into a hit. Anything else is FALSE_VALUE, PHP's own reading.
 */
function opaqueBody(rest: Uint8Array, s: EnvelopeSettings): Buffer | null {
  if (rest.length === 0) return null;
  return readBody(rest, s) === OPAQUE ? Buffer.from(rest) : null;
}

function startsWithFalse(bytes: Uint8Array): boolean {
  if (bytes.length < OPAQUE_PREFIX.length) return false;
  for (let i = 0; i < OPAQUE_PREFIX.length; i++) if (bytes[i] !== OPAQUE_PREFIX[i]) return false;
  return true;
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
