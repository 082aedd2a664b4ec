// Strict UTF-8 as PHP's JSON code checks it (php_next_utf8_char and the json scanner agree): no overlong forms,
// no surrogates, nothing above U+10FFFF. json_encode refuses other strings and json_decode rejects them.

import type { ByteWriter } from './byte-writer.js';

/** Bytes in the sequence a lead byte starts (1–4), or 0 when the byte cannot start a valid sequence. */
export function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xc2) return 0;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  if (lead < 0xf5) return 4;
  return 0;
}

/** The code point of the valid sequence starting at `at`, or -1 if it is malformed or truncated before `end`. */
export function readCodePoint(bytes: Uint8Array, at: number, end: number): number {
  const lead = bytes[at]!;
  const length = utf8SequenceLength(lead);
  if (length === 1) return lead;
  if (length === 0 || at + length > end) return -1;
  let cp = lead & (0xff >> (length + 1));
  for (let i = 1; i < length; i++) {
    const c = bytes[at + i]!;
    if ((c & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (length === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return -1;
  if (length === 4 && (cp < 0x10000 || cp > 0x10ffff)) return -1;
  return cp;
}

/** Appends the UTF-8 encoding of a code point (U+0000–U+10FFFF, surrogates excluded by the caller). */
export function writeUtf8(cp: number, out: ByteWriter): void {
  if (cp < 0x80) {
    out.byte(cp);
  } else if (cp < 0x800) {
    out.byte(0xc0 | (cp >> 6));
    out.byte(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out.byte(0xe0 | (cp >> 12));
    out.byte(0x80 | ((cp >> 6) & 0x3f));
    out.byte(0x80 | (cp & 0x3f));
  } else {
    out.byte(0xf0 | (cp >> 18));
    out.byte(0x80 | ((cp >> 12) & 0x3f));
    out.byte(0x80 | ((cp >> 6) & 0x3f));
    out.byte(0x80 | (cp & 0x3f));
  }
}
