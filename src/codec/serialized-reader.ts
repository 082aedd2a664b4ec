// The token-level half of PHP's unserialize (ext/standard/var_unserializer.re, PHP 8.2): each reader accepts
// exactly the bytes PHP's re2c rules accept, including PHP's quirks (clamped ints, wrapping lengths, "S:").

import { CodecError } from './php-value.js';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const SEMICOLON = 0x3b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A cursor over serialized bytes; every method either consumes a whole token or throws MALFORMED. */
export class SerializedReader {
  pos = 0;
  /** The same memory as a Buffer, for decoding number tokens to text. */
  private readonly view: Buffer;

  constructor(readonly bytes: Uint8Array) {
    this.view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The byte at the cursor, or -1 at the end (PHP sees its NUL terminator there, which matches nothing). */
  peek(offset = 0): number {
    return this.bytes[this.pos + offset] ?? -1;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  fail(what: string): never {
    throw new CodecError('MALFORMED', `unserialize: ${what} at offset ${this.pos}`);
  }

  expect(byte: number, what: string): void {
    if (this.bytes[this.pos] !== byte) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** Consumes `prefix` (ASCII) or fails; used for fixed tokens like `N;` and `b:1;`. */
  expectAscii(prefix: string): void {
    for (let i = 0; i < prefix.length; i++) this.expect(prefix.charCodeAt(i), JSON.stringify(prefix));
  }

  /** `uiv` then parse_uiv: one or more digits, accumulated in a size_t that wraps modulo 2^64 as PHP's does. */
  readLength(): number {
    const start = this.pos;
    this.skipDigits();
    if (this.pos === start) this.fail('expected a length');
    return wrappedUnsigned(this.view.toString('latin1', start, this.pos));
  }

  /** `uiv` read with parse_iv, as the array rule does: digits only, but huge counts clamp instead of wrapping. */
  readCount(): bigint {
    const start = this.pos;
    this.skipDigits();
    if (this.pos === start) this.fail('expected an element count');
    return clampedInt(this.view.toString('latin1', start, this.pos));
  }

  /** `iv` then parse_iv: optional sign and one or more digits; out-of-range values clamp like PHP (with a warning). */
  readInt(): bigint {
    const start = this.pos;
    const sign = this.peek();
    if (sign === 0x2b || sign === 0x2d) this.pos++;
    const digitsStart = this.pos;
    this.skipDigits();
    if (this.pos === digitsStart) this.fail('expected an integer');
    return clampedInt(this.view.toString('latin1', start, this.pos));
  }

  /** parse_iv2 as the object rule calls it: sign and digits are both optional, so "" and "-" read as 0. */
  readLooseInt(): bigint {
    const start = this.pos;
    const sign = this.peek();
    if (sign === 0x2b || sign === 0x2d) this.pos++;
    const digitsStart = this.pos;
    this.skipDigits();
    return this.pos === digitsStart ? 0n : clampedInt(this.view.toString('latin1', start, this.pos));
  }

  /** The body of `d:…;` (the `;` included): NAN, INF, -INF, or iv/nv/nvexp handed to strtod. */
  readFloat(): number {
    if (this.tryAscii('NAN;')) return Number.NaN;
    if (this.tryAscii('INF;')) return Number.POSITIVE_INFINITY;
    if (this.tryAscii('-INF;')) return Number.NEGATIVE_INFINITY;
    const start = this.pos;
    this.skipFloatSyntax();
    const end = this.pos;
    this.expect(SEMICOLON, "';' after a float");
    return Number(this.view.toString('latin1', start, end));
  }

  /** After `s:N:"`: N raw bytes, then `";`. */
  readStringBody(length: number): Buffer {
    if (length > this.remaining) this.fail('string length beyond the input');
    const start = this.pos;
    this.pos += length;
    this.expect(QUOTE, 'closing quote');
    this.expect(SEMICOLON, "';' after a string");
    return Buffer.from(this.bytes.subarray(start, start + length));
  }

  /** After `S:N:"`: N characters where `\hh` is one escaped byte, then `";` (PHP's unserialize_str). */
  readEscapedStringBody(length: number): Buffer {
    if (length > this.remaining) this.fail('string length beyond the input');
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) {
      const c = this.peek();
      if (c < 0) this.fail('escaped string runs past the input');
      out[i] = c === BACKSLASH ? this.readHexEscape() : c;
      this.pos++;
    }
    this.expect(QUOTE, 'closing quote');
    this.expect(SEMICOLON, "';' after a string");
    return out;
  }

  private readHexEscape(): number {
    const high = hexValue(this.peek(1));
    const low = hexValue(this.peek(2));
    if (high < 0 || low < 0) this.fail('bad \\hh escape');
    this.pos += 2;
    return high * 16 + low;
  }

  private tryAscii(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (this.peek(i) !== text.charCodeAt(i)) return false;
    this.pos += text.length;
    return true;
  }

  private skipDigits(): void {
    let c = this.peek();
    while (c >= 0x30 && c <= 0x39) c = this.bytes[++this.pos] ?? -1;
  }

  /** [+-]? ( D+ | D* "." D+ | D+ "." D* ) ( [eE] [+-]? D+ )? — the union of PHP's iv, nv and nvexp. */
  private skipFloatSyntax(): void {
    const sign = this.peek();
    if (sign === 0x2b || sign === 0x2d) this.pos++;
    const intStart = this.pos;
    this.skipDigits();
    let digits = this.pos - intStart;
    if (this.peek() === 0x2e) {
      this.pos++;
      const fracStart = this.pos;
      this.skipDigits();
      digits += this.pos - fracStart;
    }
    if (digits === 0) this.fail('expected a float');
    const e = this.peek();
    if (e !== 0x65 && e !== 0x45) return;
    this.pos++;
    const expSign = this.peek();
    if (expSign === 0x2b || expSign === 0x2d) this.pos++;
    const expStart = this.pos;
    this.skipDigits();
    if (this.pos === expStart) this.fail('expected exponent digits');
  }
}

/** A run of ASCII digits (decoded from the input) as size_t arithmetic would leave it. */
function wrappedUnsigned(digits: string): number {
  if (digits.length <= 15) return Number(digits);
  return Number(BigInt.asUintN(64, BigInt(digits)));
}

/** A signed ASCII integer (decoded from the input), clamped to int64 as parse_iv2 does. */
function clampedInt(text: string): bigint {
  if (text.length <= 15) return BigInt(Number(text));
  const value = BigInt(text);
  if (value > INT64_MAX) return INT64_MAX;
  if (value < INT64_MIN) return INT64_MIN;
  return value;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}
