// Declared lengths, counts and nesting cannot make the decoders hang or allocate beyond the input: each hostile
// input is refused, or parsed, within a time bound. Timed, so outside the unit tier, which runs beside other work;
// what the decoders accept and refuse is in hostile-input.unit.test.ts.
import { describe, expect, it } from 'vitest';
import { jsonDecode } from '../../src/codec/php-json.js';
import { unserialize } from '../../src/codec/php-serialize.js';
import { CodecError, PhpArray } from '../../src/codec/php-value.js';

describe('declared sizes and nesting', () => {
  const huge = [
    's:999999999999:"abc";',
    's:18446744073709551615:"',
    'S:4294967296:"',
    'a:999999999:{',
    'a:9223372036854775807:{i:0;i:1;}',
    'O:999999999:"stdClass":0:{}',
    'O:8:"stdClass":999999999:{',
    `a:100000:{${'i:0;N;'.repeat(10)}`,
  ];
  it.each(huge)('%s is rejected at once', (text) => {
    const started = performance.now();
    expect(() => unserialize(Buffer.from(text, 'latin1'))).toThrow(CodecError);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('a million unclosed arrays fail fast instead of recursing', () => {
    const started = performance.now();
    expect(() => unserialize(Buffer.from('a:1:{i:0;'.repeat(1_000_000), 'latin1'))).toThrow(CodecError);
    expect(() => jsonDecode(Buffer.from('['.repeat(1_000_000), 'latin1'))).toThrow(CodecError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('many duplicate keys stay linear', () => {
    const entries = 'i:0;N;'.repeat(50_000);
    const started = performance.now();
    const value = unserialize(Buffer.from(`a:50000:{${entries}}`, 'latin1'));
    expect(value).toEqual(new PhpArray([[0n, null]]));
    const distinct = Array.from({ length: 50_000 }, (_, i) => `s:${String(i).length + 1}:"k${i}";N;`).join(
      '',
    );
    expect((unserialize(Buffer.from(`a:50000:{${distinct}}`, 'latin1')) as PhpArray).entries).toHaveLength(
      50_000,
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
