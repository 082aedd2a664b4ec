// PHP's "canonical integer string" rule: the bytes equal (string)(int)$bytes. RedisBagOStuff uses it to tell a
// raw int from serialize() output, and PHP arrays use the same rule to turn string keys like "5" into int keys.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MINUS = 0x2d;

/** The int64 the bytes spell canonically (optional '-', no leading zeros, no "-0", in range), else null. */
export function parseIntegerString(bytes: Uint8Array, start = 0, end = bytes.length): bigint | null {
  const negative = bytes[start] === MINUS;
  const first = negative ? start + 1 : start;
  const length = end - first;
  if (length <= 0 || length > 19) return null;
  const lead = bytes[first]!;
  if (lead === DIGIT_0) return length === 1 && !negative ? 0n : null;
  let small = 0;
  for (let i = first; i < end; i++) {
    const c = bytes[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) return null;
    small = small * 10 + (c - DIGIT_0);
  }
  if (length <= 15) return BigInt(negative ? -small : small);
  return checkedInt64(bytes, first, end, negative);
}

/** Exact conversion for 16–19 digit strings, where a float accumulator would lose precision. */
function checkedInt64(bytes: Uint8Array, first: number, end: number, negative: boolean): bigint | null {
  let magnitude = 0n;
  for (let i = first; i < end; i++) magnitude = magnitude * 10n + BigInt(bytes[i]! - DIGIT_0);
  const value = negative ? -magnitude : magnitude;
  return value < INT64_MIN || value > INT64_MAX ? null : value;
}

/** True for a bigint that fits PHP's int64; anything else cannot be a PHP int. */
export function isInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}
