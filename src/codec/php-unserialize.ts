// PHP 8.2 unserialize(), structural half: nesting, key rules and duplicate keys, over SerializedReader's tokens.
// It runs on hostile bytes, so it is iterative (no recursion), bounded by PHP's own depth limit, and it never
// allocates for a declared length or count before checking the input is long enough to hold it.
//
// Trailing bytes after a complete value are ignored: PHP 8.2's unserialize() accepts `s:1:"a";junk` silently
// (8.3 only adds a warning), and MediaWiki reads such a value as "a", so the codec does the same.
// References (R:, r:), Serializable objects (C:) and enums (E:) throw UNSUPPORTED: the value model has no
// place for them. Objects are parsed as PHP parses an unknown class (or stdClass); class-specific hooks
// (__unserialize, __wakeup, typed properties, unserializable classes) cannot be reproduced outside PHP.

import { OrderedEntries } from './ordered-entries.js';
import { normalizeArrayKey } from './php-array-key.js';
import { CodecError, isStdClass, PhpArray, PhpObject, type PhpValue, STD_CLASS } from './php-value.js';
import { SerializedReader } from './serialized-reader.js';

/** PHP's default unserialize_max_depth: non-empty arrays and all objects count, deeper input is rejected. */
export const PHP_UNSERIALIZE_MAX_DEPTH = 4096;

const CLOSE_BRACE = 0x7d;

/** An array or object whose `{…}` is open: entries so far, entries still announced, the key awaiting a value. */
interface Container {
  className: Buffer | null;
  entries: OrderedEntries<bigint | Buffer, PhpValue>;
  remaining: number;
  key: bigint | Buffer | undefined;
}

/** unserialize($bytes) as PHP 8.2 does it; throws CodecError (MALFORMED or UNSUPPORTED) where PHP returns false. */
export function unserialize(bytes: Uint8Array): PhpValue {
  const r = new SerializedReader(bytes);
  if (bytes.length === 0) r.fail('empty input');
  const stack: Container[] = [];
  for (;;) {
    const top = stack[stack.length - 1];
    let value: PhpValue;
    if (top !== undefined && top.key === undefined) {
      if (top.remaining > 0) {
        top.key = readKey(r, top.className !== null);
        continue;
      }
      r.expect(CLOSE_BRACE, "'}'");
      stack.pop();
      value = closeContainer(top);
    } else {
      const item = readValue(r);
      if (!isContainer(item)) value = item;
      else {
        if (stack.length >= PHP_UNSERIALIZE_MAX_DEPTH) r.fail('nesting deeper than unserialize_max_depth');
        stack.push(item);
        continue;
      }
    }
    const parent = stack[stack.length - 1];
    if (parent === undefined) return value;
    parent.entries.set(parent.key!, value);
    parent.key = undefined;
    parent.remaining--;
  }
}

function isContainer(item: PhpValue | Container): item is Container {
  return typeof item === 'object' && item !== null && 'remaining' in item;
}

function closeContainer(c: Container): PhpValue {
  if (c.className === null) return new PhpArray(c.entries.entries);
  return new PhpObject(c.className, c.entries.entries as Array<[Buffer, PhpValue]>);
}

/** A complete scalar or empty array, or an opened container whose entries follow. */
function readValue(r: SerializedReader): PhpValue | Container {
  const tag = r.peek();
  if (r.peek(1) !== 0x3a /* ':' */ && tag !== 0x4e /* 'N' */) r.fail('expected a value');
  switch (tag) {
    case 0x4e: // N
      r.expectAscii('N;');
      return null;
    case 0x62: // b
      r.expectAscii('b:');
      return readBoolBody(r);
    case 0x69: // i
      return readIntToken(r);
    case 0x64: // d
      r.expectAscii('d:');
      return r.readFloat();
    case 0x73: // s
    case 0x53: // S
      return readStringToken(r);
    case 0x61: // a
      return openArray(r);
    case 0x4f: // O
      return openObject(r);
    case 0x43: // C
    case 0x45: // E
    case 0x52: // R
    case 0x72: // r
      throw new CodecError(
        'UNSUPPORTED',
        `unserialize: '${String.fromCharCode(tag)}:' values are not supported`,
      );
    default:
      return r.fail('expected a value');
  }
}

function readBoolBody(r: SerializedReader): boolean {
  const digit = r.peek();
  if ((digit !== 0x30 && digit !== 0x31) || r.peek(1) !== 0x3b) r.fail('expected b:0; or b:1;');
  r.pos += 2;
  return digit === 0x31;
}

function readIntToken(r: SerializedReader): bigint {
  r.expectAscii('i:');
  const value = r.readInt();
  r.expect(0x3b, "';' after an int");
  return value;
}

function readStringToken(r: SerializedReader): Buffer {
  const escaped = r.peek() === 0x53;
  r.pos += 2;
  const length = r.readLength();
  r.expectAscii(':"');
  return escaped ? r.readEscapedStringBody(length) : r.readStringBody(length);
}

/** Array and object keys: only i:, s: and S: parse; array keys like "5" become ints, object ints become names. */
function readKey(r: SerializedReader, isObject: boolean): bigint | Buffer {
  const tag = r.peek();
  if (tag === 0x69) {
    const int = readIntToken(r);
    return isObject ? Buffer.from(int.toString(10), 'latin1') : int;
  }
  if ((tag === 0x73 || tag === 0x53) && r.peek(1) === 0x3a) {
    const text = readStringToken(r);
    return isObject ? text : normalizeArrayKey(text);
  }
  return r.fail('expected an int or string key');
}

/** `a:N:{`; an empty array is complete at once and, as in PHP, does not count towards the depth limit. */
function openArray(r: SerializedReader): PhpValue | Container {
  r.expectAscii('a:');
  const count = r.readCount();
  r.expectAscii(':{');
  checkCount(r, count);
  if (count === 0n) {
    r.expect(CLOSE_BRACE, "'}'");
    return new PhpArray([]);
  }
  return { className: null, entries: new OrderedEntries(), remaining: Number(count), key: undefined };
}

/** `O:len:"Class":N:{`, with PHP's class-name rules and its lenient count (sign allowed, digits optional). */
function openObject(r: SerializedReader): Container {
  r.expectAscii('O:');
  const length = r.readLength();
  r.expectAscii(':"');
  if (length === 0 || length > r.remaining) r.fail('bad class name length');
  const name = Buffer.from(r.bytes.subarray(r.pos, r.pos + length));
  r.pos += length;
  r.expectAscii('":');
  if (!isValidClassName(name)) r.fail('invalid class name');
  // A class PHP knows takes its declared spelling; stdClass is the only one known here for sure.
  const className = isStdClass(name) ? STD_CLASS : name;
  const count = r.readLooseInt();
  if (count < 0n) r.fail('negative property count');
  checkCount(r, count);
  r.expectAscii(':{');
  return { className, entries: new OrderedEntries(), remaining: Number(count), key: undefined };
}

/** PHP's IS_FAKE_ELEM_COUNT guard: every element needs at least two bytes, so larger counts are lies. */
function checkCount(r: SerializedReader, count: bigint): void {
  if (count > BigInt(r.remaining) / 2n) r.fail('element count larger than the input');
}

/** zend_is_valid_class_name plus unserialize's own rules: no leading NUL or '\', only [A-Za-z0-9_\\\x80-\xff]. */
function isValidClassName(name: Buffer): boolean {
  if (name[0] === 0x5c) return false;
  for (const c of name) {
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x5f ||
      c === 0x5c ||
      c >= 0x80;
    if (!ok) return false;
  }
  return true;
}
