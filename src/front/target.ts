// Splits and decodes the raw HTTP request target the way Go's net/http does for Kask (r.URL.Path, r.URL.RawQuery).
import { percentDecode } from '../net/percent-encoding.js';

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
