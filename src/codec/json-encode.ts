// PHP's json_encode($value) with default flags, byte for byte: `\/`, `\uXXXX` (lowercase, surrogate pairs) for
// everything non-ASCII, `<>&'` left alone, lists only for keys 0..n-1 in order, floats as serialize_precision -1.

import { ByteWriter } from './byte-writer.js';
import { isInt64 } from './integer-string.js';
import { normalizeArrayKey } from './php-array-key.js';
import { formatPhpFloat } from './php-float-format.js';
import { CodecError, isStdClass, PhpArray, PhpObject, type PhpValue } from './php-value.js';
import { readCodePoint, utf8SequenceLength } from './utf8.js';

/** json_encode's default depth: arrays (empty ones included) nested deeper than this make it return false. */
export const JSON_ENCODE_MAX_DEPTH = 512;

/** Short escapes json_encode uses for control characters; every other byte below 0x20 becomes \u00XX. */
const SHORT_ESCAPES: Record<number, string> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
  34: '\\"',
  47: '\\/',
  92: '\\\\',
};

/**
 * json_encode($value) as PHP 8.2 writes it. Throws NOT_UTF8 for a string that is not valid UTF-8 and
 * NOT_JSON_ENCODABLE for INF/NAN, nesting past 512, and objects of any class but stdClass.
 *
 * A stdClass is always `{…}` (`{}` when empty) with its properties in order, minus those whose name starts with
 * NUL: json_encode skips protected/private (mangled) names outside the class. No other class is encoded: what
 * json_encode makes of one depends on the class's definition (declared property order and defaults,
 * JsonSerializable, __unserialize hooks, or __PHP_Incomplete_Class when it is not loaded), which the serialized
 * bytes do not carry, so nothing here could be proven equal to PHP's output.
 */
export function jsonEncode(value: PhpValue): Buffer {
  const out = new ByteWriter();
  writeJson(out, value, 0);
  return out.finish();
}

function writeJson(out: ByteWriter, value: PhpValue, depth: number): void {
  if (value === null) out.ascii('null');
  else if (value === true) out.ascii('true');
  else if (value === false) out.ascii('false');
  else if (typeof value === 'bigint') writeInt(out, value);
  else if (typeof value === 'number') writeFloat(out, value);
  else if (Buffer.isBuffer(value)) writeJsonString(out, value);
  else if (value instanceof PhpArray) writeArray(out, value, depth + 1);
  else if (value instanceof PhpObject) writeObject(out, value, depth + 1);
  else throw new CodecError('NOT_JSON_ENCODABLE', 'not a PhpValue');
}

function writeInt(out: ByteWriter, value: bigint): void {
  if (!isInt64(value)) throw new CodecError('NOT_JSON_ENCODABLE', 'integer outside the PHP int64 range');
  out.ascii(value.toString(10));
}

function writeFloat(out: ByteWriter, value: number): void {
  if (!Number.isFinite(value))
    throw new CodecError('NOT_JSON_ENCODABLE', 'Inf and NaN cannot be JSON encoded');
  out.ascii(formatPhpFloat(value, 'e'));
}

/** A list (`[…]`) when the keys are exactly 0..n-1 in order, otherwise an object with every key as a string. */
function writeArray(out: ByteWriter, array: PhpArray, depth: number): void {
  if (depth > JSON_ENCODE_MAX_DEPTH)
    throw new CodecError('NOT_JSON_ENCODABLE', 'Maximum stack depth exceeded');
  const entries = array.entries;
  const list = isList(entries);
  out.byte(list ? 0x5b : 0x7b);
  for (let i = 0; i < entries.length; i++) {
    if (i > 0) out.byte(0x2c);
    const [key, item] = entries[i]!;
    if (!list) {
      if (typeof key === 'bigint') out.ascii(`"${key}"`);
      else writeJsonString(out, key);
      out.byte(0x3a);
    }
    writeJson(out, item, depth);
  }
  out.byte(list ? 0x5d : 0x7d);
}

/** A stdClass as json_encode writes it from outside any class: public (unmangled) properties only. */
function writeObject(out: ByteWriter, object: PhpObject, depth: number): void {
  if (!isStdClass(object.className))
    throw new CodecError('NOT_JSON_ENCODABLE', 'only stdClass objects are JSON encoded');
  if (depth > JSON_ENCODE_MAX_DEPTH)
    throw new CodecError('NOT_JSON_ENCODABLE', 'Maximum stack depth exceeded');
  out.byte(0x7b);
  let first = true;
  for (const [name, item] of object.props) {
    if (name.length > 0 && name[0] === 0) continue;
    if (!first) out.byte(0x2c);
    first = false;
    writeJsonString(out, name);
    out.byte(0x3a);
    writeJson(out, item, depth);
  }
  out.byte(0x7d);
}

function isList(entries: ReadonlyArray<readonly [bigint | Buffer, PhpValue]>): boolean {
  for (let i = 0; i < entries.length; i++) {
    if (normalizeArrayKey(entries[i]![0]) !== BigInt(i)) return false;
  }
  return true;
}

/** A quoted JSON string; runs of bytes that need no escaping are copied in one go. */
function writeJsonString(out: ByteWriter, bytes: Buffer): void {
  out.byte(0x22);
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x2f && c !== 0x5c) {
      i++;
      continue;
    }
    out.bytes(bytes, runStart, i);
    i = writeEscape(out, bytes, i);
    runStart = i;
  }
  out.bytes(bytes, runStart, i);
  out.byte(0x22);
}

/** Writes the escape for the character at `at` and returns the index after it. */
function writeEscape(out: ByteWriter, bytes: Buffer, at: number): number {
  const c = bytes[at]!;
  if (c < 0x80) {
    out.ascii(SHORT_ESCAPES[c] ?? `\\u${hex4(c)}`);
    return at + 1;
  }
  const cp = readCodePoint(bytes, at, bytes.length);
  if (cp < 0) throw new CodecError('NOT_UTF8', 'Malformed UTF-8 characters, possibly incorrectly encoded');
  if (cp < 0x10000) out.ascii(`\\u${hex4(cp)}`);
  else {
    const v = cp - 0x10000;
    out.ascii(`\\u${hex4(0xd800 | (v >> 10))}\\u${hex4(0xdc00 | (v & 0x3ff))}`);
  }
  return at + utf8SequenceLength(c);
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
