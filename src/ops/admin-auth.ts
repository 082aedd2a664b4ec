// Bearer-token check for the admin API: constant-time (equal-length SHA-256 digests through timingSafeEqual), and
// with no token configured nothing is accepted. The token itself is never logged or echoed.
import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Returns a check for an `Authorization` header. Hashing first makes both sides 32 bytes whatever was sent, so
 * the comparison takes the same time for every wrong token, whatever its length or common prefix.
 */
export function bearerCheck(token: string | null): (authorization: string | undefined) => boolean {
  if (token === null || token === '') return () => false;
  const expected = digest(token);
  return (authorization) => {
    const presented = authorization === undefined ? null : BEARER.exec(authorization)?.[1];
    // Still hash and compare on a malformed header, so its handling costs what a wrong token costs.
    const actual = digest(presented ?? '');
    return timingSafeEqual(actual, expected) && presented !== null && presented !== undefined;
  };
}
