// Fuzzing the key decoder (request target → key bytes): whatever arrives on the wire, nothing throws, a malformed
// escape is the only rejection, decoding inverts rawurlencode exactly, and the key is what Kask would take.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKey } from '../../src/front/key.js';
import { parseTarget } from '../../src/front/target.js';
import { percentDecode, percentEncode } from '../../src/net/percent-encoding.js';
import { runs } from '../support/tier.js';

const BASE = Buffer.from('/echoseen/v1/');
const RUNS = runs(2_000);

/** Request targets as Node hands them over: latin1 text, heavy on `%`, `/`, `?`, dots and the base itself. */
const wireText = fc
  .array(
    fc.oneof(
      fc.constantFrom('%', '%2', '%2F', '%2f', '%zz', '%%', '/', '?', '.', '..', '+', '#', '/echoseen/v1/'),
      fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0, max: 255 }).map((c) => `%${c.toString(16).padStart(2, '0')}`),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

const malformed = (raw: string): boolean => /%(?![0-9A-Fa-f]{2})/.test(raw);

describe('key decoder (fast-check)', () => {
  it('decoding inverts rawurlencode for every byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const encoded = percentEncode(bytes);
        expect(encoded).toMatch(/^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*$/);
        expect(percentDecode(encoded)).toEqual(Buffer.from(bytes));
      }),
      RUNS,
    );
  });

  it('any wire text decodes without throwing; only malformed escapes are refused; re-encoding round-trips', () => {
    fc.assert(
      fc.property(wireText, (raw) => {
        const decoded = percentDecode(raw);
        expect(decoded === null).toBe(malformed(raw));
        if (decoded !== null) expect(percentDecode(percentEncode(decoded))).toEqual(decoded);
      }),
      RUNS,
    );
  });

  it('parseTarget and parseKey never throw, whatever the target (origin or absolute form)', () => {
    const target = fc
      .tuple(fc.constantFrom('', 'http://h', 'https://x:1', 'h:', '*'), wireText)
      .map(([a, b]) => a + b);
    fc.assert(
      fc.property(target, (raw) => {
        const parsed = parseTarget(raw);
        if (parsed === null) return;
        const q = raw.indexOf('?');
        if (raw.startsWith('/')) expect(parsed.query).toBe(q === -1 ? '' : raw.slice(q + 1));
        if (parsed.path.subarray(0, BASE.length).equals(BASE)) {
          const key = parseKey(parsed, BASE);
          expect(['key', 'bad-request', 'not-found']).toContain(key.kind);
          if (key.kind === 'key') {
            expect(key.key.length).toBeGreaterThan(0);
            expect(key.key.includes(0x2f)).toBe(false);
          }
        }
      }),
      RUNS,
    );
  });

  it('a rawurlencoded key comes back as exactly those bytes (or Kask’s 404 for keys Kask cannot name)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 100 }), (bytes) => {
        const key = Buffer.from(bytes);
        const parsed = parseTarget(`/echoseen/v1/${percentEncode(key)}`);
        expect(parsed).not.toBeNull();
        const result = parseKey(parsed!, BASE);
        const unnameable =
          key.length === 0 ||
          key.includes(0x2f) ||
          key.includes(BASE) ||
          key.equals(Buffer.from('.')) ||
          key.equals(Buffer.from('..'));
        if (unnameable) expect(result.kind).toBe('not-found');
        else expect(result).toEqual({ kind: 'key', key });
      }),
      RUNS,
    );
  });
});
