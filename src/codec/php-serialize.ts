// PHP 8.2 serialize() for PhpValue, byte for byte. The reader lives in php-unserialize.ts and is re-exported here
// so callers find both directions of the format in one place.

import { ByteWriter } from './byte-writer.js';
import { isInt64 } from './integer-string.js';
import { normalizeArrayKey } from './php-array-key.js';
import { formatPhpFloat } from './php-float-format.js';
import { PHP_UNSERIALIZE_MAX_DEPTH } from './php-unserialize.js';
import { CodecError, PhpArray, PhpObject, type PhpValue } from './php-value.js';

export { unserialize } from './php-unserialize.js';

/** One open container: the entries still to write and how far along we are. */
interface Frame {
  entries: ReadonlyArray<readonly [bigint | Buffer, PhpValue]>;
  next: number;
  isObject: boolean;
  /** Whether PHP's unserialize would count this container towards its depth limit. */
  counted: boolean;
}

/**
 * serialize($value) as PHP 8.2 writes it (serialize_precision = -1). Iterative, so depth cannot blow the stack.
 * A value nested deeper than unserialize_max_depth would be written fine by PHP but could never be read back,
 * so it throws UNSUPPORTED instead; so does an int outside int64.
 */
export function serialize(value: PhpValue): Buffer {
  const out = new ByteWriter();
  const stack: Frame[] = [];
  let depth = 0;
  let pending: PhpValue | undefined = value;
  for (;;) {
    if (pending !== undefined) {
      const opened = writeValue(out, pending);
      pending = undefined;
      if (opened !== null) {
        if (opened.counted && ++depth > PHP_UNSERIALIZE_MAX_DEPTH) throw tooDeep();
        stack.push(opened);
      }
    }
    const top = stack[stack.length - 1];
    if (top === undefined) return out.finish();
    const entry = top.entries[top.next++];
    if (entry === undefined) {
      out.byte(0x7d); // '}'
      if (stack.pop()?.counted) depth--;
      continue;
    }
    writeKey(out, entry[0], top.isObject);
    pending = entry[1];
  }
}

/** Writes a scalar in full, or a container's header, returning the frame to fill for containers. */
function writeValue(out: ByteWriter, value: PhpValue): Frame | null {
  if (value === null) out.ascii('N;');
  else if (value === true) out.ascii('b:1;');
  else if (value === false) out.ascii('b:0;');
  else if (typeof value === 'bigint') writeInt(out, value);
  else if (typeof value === 'number') out.ascii(`d:${formatPhpFloat(value, 'E')};`);
  else if (Buffer.isBuffer(value)) writeString(out, value);
  else if (value instanceof PhpArray) {
    out.ascii(`a:${value.entries.length}:{`);
    return { entries: value.entries, next: 0, isObject: false, counted: value.entries.length > 0 };
  } else if (value instanceof PhpObject) {
    out.ascii(`O:${value.className.length}:"`);
    out.bytes(value.className);
    out.ascii(`":${value.props.length}:{`);
    return { entries: value.props, next: 0, isObject: true, counted: true };
  } else throw new CodecError('UNSUPPORTED', 'not a PhpValue');
  return null;
}

/** Array keys are written as PHP holds them (numeric strings as ints); object property names always as strings. */
function writeKey(out: ByteWriter, key: bigint | Buffer, isObject: boolean): void {
  const held = isObject ? key : normalizeArrayKey(key);
  if (typeof held !== 'bigint') writeString(out, held);
  else if (isObject) writeString(out, Buffer.from(held.toString(10), 'latin1'));
  else writeInt(out, held);
}

function writeInt(out: ByteWriter, value: bigint): void {
  if (!isInt64(value)) throw new CodecError('UNSUPPORTED', 'integer outside the PHP int64 range');
  out.ascii(`i:${value};`);
}

function writeString(out: ByteWriter, value: Buffer): void {
  out.ascii(`s:${value.length}:"`);
  out.bytes(value);
  out.ascii('";');
}

function tooDeep(): CodecError {
  return new CodecError(
    'UNSUPPORTED',
    `nested deeper than PHP's unserialize_max_depth (${PHP_UNSERIALIZE_MAX_DEPTH})`,
  );
}
