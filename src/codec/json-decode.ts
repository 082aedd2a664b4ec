// PHP's json_decode($bytes, true) with default depth: objects become arrays (numeric-string keys become ints,
// a repeated key overwrites in place), big ints become floats, and anything PHP reports as a JSON error —
// bad syntax, invalid UTF-8, lone surrogates, raw control characters, too deep — throws MALFORMED.

import { ByteWriter } from './byte-writer.js';
import { OrderedEntries } from './ordered-entries.js';
import { normalizeArrayKey } from './php-array-key.js';
import { CodecError, PhpArray, type PhpValue } from './php-value.js';
import { readCodePoint, utf8SequenceLength, writeUtf8 } from './utf8.js';

/** json_decode's default depth of 512 lets arrays/objects nest 511 deep; the 512th level is an error. */
export const JSON_DECODE_MAX_NESTING = 511;

/** Digits of -INT64_MIN: a 19-digit literal at or above it (or any longer one) is read as a float by PHP. */
const INT64_OVERFLOW_DIGITS = '9223372036854775808';

/** json_decode($bytes, true) as PHP 8.2 does it; top-level scalars are allowed, empty input is an error. */
export function jsonDecode(bytes: Uint8Array): PhpValue {
  const p = new JsonParser(bytes);
  p.skipSpace();
  const value = p.parseValue(0);
  p.skipSpace();
  if (p.pos !== bytes.length) p.fail('trailing data');
  return value;
}

class JsonParser {
  pos = 0;
  private readonly view: Buffer;

  constructor(private readonly bytes: Uint8Array) {
    this.view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(what: string): never {
    throw new CodecError('MALFORMED', `json_decode: ${what} at offset ${this.pos}`);
  }

  skipSpace(): void {
    let c = this.bytes[this.pos];
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = this.bytes[++this.pos];
  }

  parseValue(nesting: number): PhpValue {
    const c = this.bytes[this.pos];
    if (c === 0x22) return this.parseString();
    if (c === 0x7b) return this.parseObject(nesting + 1);
    if (c === 0x5b) return this.parseArray(nesting + 1);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.parseNumber();
    if (this.tryWord('true')) return true;
    if (this.tryWord('false')) return false;
    if (this.tryWord('null')) return null;
    return this.fail('syntax error');
  }

  private parseArray(nesting: number): PhpArray {
    if (nesting > JSON_DECODE_MAX_NESTING) this.fail('maximum stack depth exceeded');
    this.pos++;
    const entries: Array<[bigint, PhpValue]> = [];
    this.skipSpace();
    if (this.bytes[this.pos] === 0x5d) {
      this.pos++;
      return new PhpArray(entries);
    }
    for (;;) {
      this.skipSpace();
      entries.push([BigInt(entries.length), this.parseValue(nesting)]);
      if (this.endOfContainer(0x5d)) return new PhpArray(entries);
    }
  }

  private parseObject(nesting: number): PhpArray {
    if (nesting > JSON_DECODE_MAX_NESTING) this.fail('maximum stack depth exceeded');
    this.pos++;
    const entries = new OrderedEntries<bigint | Buffer, PhpValue>();
    this.skipSpace();
    if (this.bytes[this.pos] === 0x7d) {
      this.pos++;
      return new PhpArray(entries.entries);
    }
    for (;;) {
      this.skipSpace();
      if (this.bytes[this.pos] !== 0x22) this.fail('expected a property name');
      const key = normalizeArrayKey(this.parseString());
      this.skipSpace();
      if (this.bytes[this.pos++] !== 0x3a) this.fail("expected ':'");
      this.skipSpace();
      entries.set(key, this.parseValue(nesting));
      if (this.endOfContainer(0x7d)) return new PhpArray(entries.entries);
    }
  }

  /** After an element: `,` means another follows, `close` ends the container, anything else is an error. */
  private endOfContainer(close: number): boolean {
    this.skipSpace();
    const c = this.bytes[this.pos++];
    if (c === close) return true;
    if (c !== 0x2c) this.fail('expected , or a closing bracket');
    return false;
  }

  /** -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? — ints within int64 are ints, everything else is a float. */
  private parseNumber(): bigint | number {
    const start = this.pos;
    if (this.bytes[this.pos] === 0x2d) this.pos++;
    const intStart = this.pos;
    if (this.bytes[this.pos] === 0x30) this.pos++;
    else if (this.skipDigits() === 0) this.fail('expected digits');
    const intDigits = this.pos - intStart;
    let isFloat = false;
    if (this.bytes[this.pos] === 0x2e) {
      this.pos++;
      if (this.skipDigits() === 0) this.fail('expected fraction digits');
      isFloat = true;
    }
    const e = this.bytes[this.pos];
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = this.bytes[this.pos];
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (this.skipDigits() === 0) this.fail('expected exponent digits');
      isFloat = true;
    }
    const text = this.view.toString('latin1', start, this.pos);
    if (isFloat || isBigInt(text, intDigits)) return Number(text);
    return BigInt(text);
  }

  private skipDigits(): number {
    const start = this.pos;
    let c = this.bytes[this.pos];
    while (c !== undefined && c >= 0x30 && c <= 0x39) c = this.bytes[++this.pos];
    return this.pos - start;
  }

  /** A JSON string as PHP bytes; runs without escapes are copied, escapes and \u pairs become UTF-8. */
  private parseString(): Buffer {
    this.pos++;
    let out: ByteWriter | null = null;
    let runStart = this.pos;
    for (;;) {
      const c = this.bytes[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        out ??= new ByteWriter(32);
        out.bytes(this.bytes, runStart, this.pos);
        this.parseEscape(out);
        runStart = this.pos;
      } else if (c < 0x80) this.pos++;
      else {
        if (readCodePoint(this.bytes, this.pos, this.bytes.length) < 0) this.fail('malformed UTF-8');
        this.pos += utf8SequenceLength(c);
      }
    }
    const end = this.pos++;
    if (out === null) return Buffer.from(this.bytes.subarray(runStart, end));
    out.bytes(this.bytes, runStart, end);
    return Buffer.from(out.finish());
  }

  private parseEscape(out: ByteWriter): void {
    const c = this.bytes[this.pos + 1];
    this.pos += 2;
    const simple = c === undefined ? undefined : SIMPLE_ESCAPES[c];
    if (simple !== undefined) out.byte(simple);
    else if (c === 0x75) writeUtf8(this.parseUnicodeEscape(), out);
    else this.fail('bad escape');
  }

  /** After `\u`: four hex digits, and for a high surrogate the `\uDCxx` low half that must follow it. */
  private parseUnicodeEscape(): number {
    const unit = this.readHex4();
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('single unpaired UTF-16 surrogate');
    if (unit < 0xd800 || unit > 0xdbff) return unit;
    if (this.bytes[this.pos] !== 0x5c || this.bytes[this.pos + 1] !== 0x75) this.fail('unpaired surrogate');
    this.pos += 2;
    const low = this.readHex4();
    if (low < 0xdc00 || low > 0xdfff) this.fail('unpaired surrogate');
    return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
  }

  private readHex4(): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const digit = hexValue(this.bytes[this.pos++]);
      if (digit < 0) this.fail('bad \\u escape');
      value = value * 16 + digit;
    }
    return value;
  }

  private tryWord(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.bytes[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }
}

/** Escapes with a one-byte meaning. */
const SIMPLE_ESCAPES: Record<number, number> = {
  34: 0x22,
  92: 0x5c,
  47: 0x2f,
  98: 0x08,
  102: 0x0c,
  110: 0x0a,
  114: 0x0d,
  116: 0x09,
};

/** PHP's scanner rule: 19 digits compare against INT64_MIN's digits (equal is fine only when negative). */
function isBigInt(text: string, intDigits: number): boolean {
  if (intDigits < 19) return false;
  if (intDigits > 19) return true;
  const negative = text.charCodeAt(0) === 0x2d;
  const digits = negative ? text.slice(1) : text;
  return negative ? digits > INT64_OVERFLOW_DIGITS : digits >= INT64_OVERFLOW_DIGITS;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}
