// PHP prints floats with php_gcvt(precision 17, mode 0) when serialize_precision is -1; both serialize() and
// json_encode() use it, so the exact layout (where it switches to exponent form, the ".0" it adds) lives here.

/** Exponent letter: serialize() writes `1.0E+25`, json_encode() writes `1.0e+25`. */
export type ExponentChar = 'E' | 'e';

/** Formats a finite or non-finite float as PHP 8 does with serialize_precision = -1 (shortest round-trip). */
export function formatPhpFloat(value: number, exponentChar: ExponentChar): string {
  if (Number.isNaN(value)) return 'NAN';
  if (value === Number.POSITIVE_INFINITY) return 'INF';
  if (value === Number.NEGATIVE_INFINITY) return '-INF';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  const { digits, decpt } = shortestDigits(Math.abs(value));
  return sign + layoutDigits(digits, decpt, exponentChar);
}

/**
 * The shortest digit string that round-trips, and where the decimal point goes (value = 0.DIGITS × 10^decpt),
 * which is what zend_dtoa mode 0 returns. JS's Number-to-string picks the same digits (shortest, then closest).
 */
function shortestDigits(positive: number): { digits: string; decpt: number } {
  const text = String(positive);
  const e = text.indexOf('e');
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const intPart = dot < 0 ? mantissa : mantissa.slice(0, dot);
  const all = dot < 0 ? mantissa : intPart + mantissa.slice(dot + 1);
  let decpt = intPart.length + exponent;
  let start = 0;
  while (start < all.length - 1 && all.charCodeAt(start) === 48) {
    start++;
    decpt--;
  }
  let end = all.length;
  while (end > start + 1 && all.charCodeAt(end - 1) === 48) end--;
  return { digits: all.slice(start, end), decpt };
}

/** php_gcvt's three layouts: exponent form outside 1e-4 ≤ |v| < 1e17, "0.000ddd", or plain digits. */
function layoutDigits(digits: string, decpt: number, exponentChar: ExponentChar): string {
  if (decpt < -3 || decpt > 17) {
    const exponent = decpt - 1;
    const fraction = digits.length > 1 ? digits.slice(1) : '0';
    const expSign = exponent < 0 ? '-' : '+';
    return `${digits[0]}.${fraction}${exponentChar}${expSign}${Math.abs(exponent)}`;
  }
  if (decpt <= 0) return `0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return digits + '0'.repeat(decpt - digits.length);
  return `${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}
