// RESTBagOStuff's body format `TYPE.HMAC.PAYLOAD`, written as encodeBody() writes it and read as decodeBody()
// reads it, so a body the proxy builds is byte-identical to one MediaWiki would have sent for the same value.

import { hmacField, hmacFieldMatches } from './envelope-hmac.js';
import { jsonDecode, jsonEncode } from './php-json.js';
import { serialize, unserialize } from './php-serialize.js';
import { CodecError, type PhpValue } from './php-value.js';

/** RESTBagOStuff's serialization_type. */
export const ENVELOPE_TYPES = ['JSON', 'PHP'] as const;
export type EnvelopeType = (typeof ENVELOPE_TYPES)[number];

/** The two RESTBagOStuff options that shape a body; hmacKey null or empty means unsigned (`TYPE..PAYLOAD`). */
export interface EnvelopeSettings {
  type: EnvelopeType;
  hmacKey: Buffer | null;
}

const DOT = 0x2e;

/** encodeBody($value): the payload is serialize() or json_encode(); json failures throw like PHP's exception. */
export function encodeEnvelope(value: PhpValue, s: EnvelopeSettings): Buffer {
  const payload = s.type === 'PHP' ? serialize(value) : jsonEncode(value);
  return sealEnvelope(payload, s);
}

/** decodeBody($body): throws CodecError wherever PHP returns false for a reason other than a stored false. */
export function decodeEnvelope(body: Uint8Array, s: EnvelopeSettings): PhpValue {
  const payload = openEnvelope(body, s);
  return s.type === 'PHP' ? unserialize(payload) : jsonDecode(payload);
}

/** Wraps ready payload bytes as `TYPE.HMAC.PAYLOAD` in one allocation. */
export function sealEnvelope(payload: Uint8Array, s: EnvelopeSettings): Buffer {
  const hmac = isSigned(s) ? hmacField(s.hmacKey!, payload) : '';
  const headLength = s.type.length + hmac.length + 2;
  const body = Buffer.allocUnsafe(headLength + payload.length);
  body.write(`${s.type}.${hmac}.`, 0, 'latin1');
  body.set(payload, headLength);
  return body;
}

/**
 * Checks type and HMAC and returns the payload (a view into `body`). Like explode('.', $body, 3): the first two
 * dots split, later dots belong to the payload.
 */
export function openEnvelope(body: Uint8Array, s: EnvelopeSettings): Uint8Array {
  const firstDot = body.indexOf(DOT);
  const secondDot = firstDot < 0 ? -1 : body.indexOf(DOT, firstDot + 1);
  if (secondDot < 0) throw new CodecError('BAD_ENVELOPE', 'body is not TYPE.HMAC.PAYLOAD');
  if (!hasType(body, firstDot, s.type)) {
    throw new CodecError('TYPE_MISMATCH', `body is not of serialization type ${s.type}`);
  }
  const payload = body.subarray(secondDot + 1);
  if (isSigned(s) && !hmacFieldMatches(s.hmacKey!, payload, body.subarray(firstDot + 1, secondDot))) {
    throw new CodecError('HMAC_MISMATCH', 'HMAC does not match the payload');
  }
  return payload;
}

function isSigned(s: EnvelopeSettings): boolean {
  return s.hmacKey !== null && s.hmacKey.length > 0;
}

function hasType(body: Uint8Array, length: number, type: EnvelopeType): boolean {
  if (length !== type.length) return false;
  for (let i = 0; i < length; i++) if (body[i] !== type.charCodeAt(i)) return false;
  return true;
}
