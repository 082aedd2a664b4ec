// Encoders append ASCII syntax and raw byte strings into one growing buffer, so output is built without
// intermediate JS strings (which would mangle non-UTF-8 bytes) or a concat of many small Buffers.

/** An append-only byte buffer that doubles when full; `finish()` returns the written bytes. */
export class ByteWriter {
  private buf: Buffer;
  private length = 0;

  constructor(initialCapacity = 64) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Appends text that is known to be ASCII (syntax, digits), one byte per character. */
  ascii(text: string): void {
    this.reserve(text.length);
    this.length += this.buf.write(text, this.length, 'latin1');
  }

  /** Appends one byte. */
  byte(value: number): void {
    this.reserve(1);
    this.buf[this.length++] = value;
  }

  /** Appends a byte string verbatim. */
  bytes(source: Uint8Array, start = 0, end = source.length): void {
    const count = end - start;
    this.reserve(count);
    this.buf.set(source.subarray(start, end), this.length);
    this.length += count;
  }

  /** The bytes written so far, as a Buffer of exactly that length (shares memory with the writer). */
  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }
}
