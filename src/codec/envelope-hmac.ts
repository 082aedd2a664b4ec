// The HMAC field of a RESTBagOStuff body: written as base64(HMAC-SHA256(key, payload)) and checked, as PHP does,
// with hash_equals(hmac, base64_decode(field)) — a lenient decode, so the check must decode the same lenient way.

import { createHmac, timingSafeEqual } from 'node:crypto';

const HMAC_BYTES = 32;

/** base64_encode(hash_hmac('sha256', $payload, $key, true)): 44 ASCII characters with `=` padding. */
export function hmacField(key: Buffer, payload: Uint8Array): string {
  return createHmac('sha256', key).update(payload).digest('base64');
}

/** hash_equals(HMAC(payload), base64_decode(field)), compared in constant time once the lengths agree. */
export function hmacFieldMatches(key: Buffer, payload: Uint8Array, field: Uint8Array): boolean {
  const claimed = phpBase64Decode(field);
  if (claimed.length !== HMAC_BYTES) return false;
  const expected = createHmac('sha256', key).update(payload).digest();
  return timingSafeEqual(expected, claimed);
}

/**
 * PHP's non-strict base64_decode: bytes outside the alphabet (including every `=`) are skipped, and a trailing
 * partial byte is dropped. So `…E=` and `…F=` can decode alike, and whitespace or junk inside the field is ignored.
 */
export function phpBase64Decode(field: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.floor((field.length * 3) / 4) + 1);
  let bits = 0;
  let bitCount = 0;
  let length = 0;
  for (const c of field) {
    const sextet = SEXTETS[c]!;
    if (sextet < 0) continue;
    bits = ((bits << 6) | sextet) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[length++] = (bits >> bitCount) & 0xff;
    }
  }
  return out.subarray(0, length);
}

const SEXTETS: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();
