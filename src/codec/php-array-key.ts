// A PHP array cannot hold the string key "5": PHP stores it as int 5. Encoders see keys the way PHP would hold
// them, so a hand-built PhpArray with a numeric-string key still encodes exactly as PHP would.

import { parseIntegerString } from './integer-string.js';

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MINUS = 0x2d;

/** The key as PHP holds it: canonical decimal strings within int64 become ints, everything else is unchanged. */
export function normalizeArrayKey(key: bigint | Buffer): bigint | Buffer {
  if (typeof key === 'bigint') return key;
  const first = key[0];
  if (first === undefined) return key;
  if ((first < DIGIT_0 || first > DIGIT_9) && first !== MINUS) return key;
  return parseIntegerString(key) ?? key;
}
