// Kask's key extraction (ValidatingKeyParserMiddleware): the order of checks decides which error a bad path gets.
import type { RequestTarget } from './target.js';

export type KeyParse =
  | { kind: 'key'; key: Buffer }
  | { kind: 'bad-request' } // non-empty query string
  | { kind: 'not-found' }; // empty key, or a `/` left in it

const SLASH = 0x2f;

/**
 * Applies Kask's rules to a target whose decoded path starts with `base`: any query → 400; a `/` in the key → 404;
 * an empty key → 404. Like Kask, a copy of the base inside the key cuts the key there.
 * Dot segments (`.`, `..`) are 404 too: Go's mux would redirect them, and we never answer 3xx.
 */
export function parseKey(target: RequestTarget, base: Buffer): KeyParse {
  if (target.query !== '') return { kind: 'bad-request' };
  const start = base.length;
  const again = target.path.indexOf(base, start);
  const key = target.path.subarray(start, again === -1 ? target.path.length : again);
  if (key.length === 0 || key.includes(SLASH)) return { kind: 'not-found' };
  if (key[0] === 0x2e && (key.length === 1 || (key.length === 2 && key[1] === 0x2e)))
    return { kind: 'not-found' };
  return { kind: 'key', key };
}
