// Go's encoding/json string escaping (escapeHTML on, Go 1.19 as observed on Kask), so problem bodies match Kask's bytes.

const HEX = '0123456789abcdef';

/** Quotes `bytes` exactly as Go's json encoder quotes a Go string holding those bytes. */
export function goJsonString(bytes: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += escapeAscii(b);
      i++;
      continue;
    }
    const [codePoint, size] = decodeUtf8(bytes, i);
    if (codePoint === -1) out += '\\ufffd';
    else if (codePoint === 0x2028 || codePoint === 0x2029) out += `\\u${codePoint.toString(16)}`;
    else out += String.fromCodePoint(codePoint);
    i += size;
  }
  return `${out}"`;
}

function escapeAscii(b: number): string {
  switch (b) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x3c: // < > & are escaped because Go's Marshal defaults to HTML-safe output.
    case 0x3e:
    case 0x26:
      return `\\u00${HEX[b >> 4]}${HEX[b & 15]}`;
    default:
      return b < 0x20 ? `\\u00${HEX[b >> 4]}${HEX[b & 15]}` : String.fromCharCode(b);
  }
}

/** One UTF-8 sequence at `i`: [code point, bytes consumed], or [-1, 1] for an invalid byte (Go's RuneError rule). */
function decodeUtf8(bytes: Uint8Array, i: number): [number, number] {
  const b0 = bytes[i]!;
  let need: number;
  let cp: number;
  let min: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) [need, cp, min] = [1, b0 & 0x1f, 0x80];
  else if (b0 >= 0xe0 && b0 <= 0xef) [need, cp, min] = [2, b0 & 0x0f, 0x800];
  else if (b0 >= 0xf0 && b0 <= 0xf4) [need, cp, min] = [3, b0 & 0x07, 0x10000];
  else return [-1, 1];
  if (i + need >= bytes.length) return [-1, 1];
  for (let k = 1; k <= need; k++) {
    const b = bytes[i + k]!;
    if ((b & 0xc0) !== 0x80) return [-1, 1];
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return [-1, 1];
  return [cp, need + 1];
}
