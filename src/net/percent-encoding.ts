// Keys on the wire: percent-encoding as MediaWiki sends them and decoding as Go's net/url does. Shared by the front
// (decoding request targets) and the Kask client (encoding keys into Kask URLs), so both live below them.

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decodes `%XX` once; null when a `%` is not followed by two hex digits (Go's url.EscapeError). */
export function percentDecode(raw: string): Buffer | null {
  if (raw.indexOf('%') === -1) return Buffer.from(raw, 'latin1');
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 0x25) {
      out[n++] = c;
      continue;
    }
    const hi = hexValue(raw.charCodeAt(i + 1));
    const lo = hexValue(raw.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  return out.subarray(0, n);
}

const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~')
  UNRESERVED[c.charCodeAt(0)] = 1;
const HEX_UPPER = '0123456789ABCDEF';

/** PHP's rawurlencode (RFC 3986): what MediaWiki puts on the wire, and what we send on to Kask. */
export function percentEncode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += UNRESERVED[b] ? String.fromCharCode(b) : `%${HEX_UPPER[b >> 4]}${HEX_UPPER[b & 15]}`;
  }
  return out;
}
