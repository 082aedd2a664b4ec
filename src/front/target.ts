// Splits and decodes the raw HTTP request target the way Go's net/http does for Kask (r.URL.Path, r.URL.RawQuery).

/** The request target as Kask sees it: the percent-decoded path (bytes) and the raw query. */
export interface RequestTarget {
  /** Decoded once: `%3A` → `:`, `%2F` → `/`, `+` stays `+`. Bytes, since keys need not be UTF-8. */
  path: Buffer;
  /** Everything after the first `?` (empty for none or a bare `?`). */
  query: string;
}

/**
 * Parses Node's `req.url` (the request-target as latin1 text, so every char is one byte).
 * Returns null for a malformed percent-escape: Go answers those with a plain-text 400 before any handler runs.
 */
export function parseTarget(rawUrl: string): RequestTarget | null {
  let raw = rawUrl;
  if (raw.charCodeAt(0) !== 0x2f) raw = stripAbsoluteForm(raw);
  const q = raw.indexOf('?');
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  const path = percentDecode(rawPath);
  if (path === null) return null;
  return { path, query: q === -1 ? '' : raw.slice(q + 1) };
}

/** `GET http://host/sessions/v1/k` is served like origin-form (Go ignores the authority for routing). */
function stripAbsoluteForm(raw: string): string {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(raw);
  if (!m) return raw;
  const rest = raw.slice(m[0].length);
  return rest === '' || rest[0] === '?' ? `/${rest}` : rest;
}

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
