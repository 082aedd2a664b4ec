// RedisBagOStuff's value bytes (MediumSpecificBagOStuff::serialize/unserialize): PHP ints are stored as bare
// decimal digits so Redis INCR works on them; every other value is PHP serialize() output.

import { isInt64, parseIntegerString } from './integer-string.js';
import { serialize, unserialize } from './php-serialize.js';
import { CodecError, type PhpValue } from './php-value.js';

/** The bytes RedisBagOStuff writes for $value: `is_int($v) ? $v : serialize($v)`, the int as its digits. */
export function encodeRedisValue(value: PhpValue): Buffer {
  if (typeof value === 'bigint') {
    if (!isInt64(value)) throw new CodecError('UNSUPPORTED', 'integer outside the PHP int64 range');
    return Buffer.from(value.toString(10), 'latin1');
  }
  return serialize(value);
}

/**
 * What RedisBagOStuff reads back: a blob that equals the string form of its own int cast is that int,
 * anything else goes through unserialize(). A PHP `false` result (a miss to MediaWiki) is returned as false;
 * bytes PHP cannot unserialize throw CodecError.
 */
export function decodeRedisValue(bytes: Uint8Array): PhpValue {
  return parseIntegerString(bytes) ?? unserialize(bytes);
}
