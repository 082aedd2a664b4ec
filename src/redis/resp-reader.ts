// RESP2 replies read from a byte stream, for the lean command connection (resp-connection.ts): simple strings,
// errors, integers, bulk strings and arrays, split across reads anyhow. Anything else is a protocol error: the
// connection never asks for RESP3, so a byte it does not expect means the stream can no longer be trusted.

/** An error reply (`-ERR …`, `-WRONGTYPE …`): Redis answered, and said no. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

export type RespValue = string | number | Buffer | null | RespErrorReply | RespValue[];

/** The stream is not RESP2: the connection must be closed. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

/** `next()` found only part of a reply; feed more bytes. */
export const INCOMPLETE: unique symbol = Symbol('incomplete');

const CR = 13;
const LF = 10;
/** Redis's own proto-max-bulk-len default: no reply of ours comes near it. */
const MAX_BULK_BYTES = 512 * 1024 * 1024;
const MAX_ARRAY_ITEMS = 1024 * 1024;
const MAX_DEPTH = 16;
/** A header line (type byte, number, CRLF) longer than this is not a reply Redis sends. */
const MAX_LINE_BYTES = 64 * 1024;

export class RespReader {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  /** Chunks held back while a known-long bulk string arrives, joined once it is all there (not once per chunk). */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** Bytes (from #pos) the incomplete reply needs at least, when a bulk header said so; 0 = unknown. */
  #need = 0;
  /** Where the bulk string being read ends (with its CRLF), set by #read when it runs out of bytes. */
  #wanted = 0;

  /** Adds bytes read from the socket. The reader keeps references to them (bulk replies are views, not copies). */
  feed(chunk: Buffer): void {
    if (this.#need > 0 && this.buffered + chunk.length < this.#need) {
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      return;
    }
    if (this.#pos >= this.#buf.length && this.#held.length === 0) this.#buf = chunk;
    else this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), ...this.#held, chunk]);
    this.#pos = 0;
    this.#held = [];
    this.#heldBytes = 0;
    this.#need = 0;
  }

  /** The next complete reply, or INCOMPLETE. Throws RespProtocolError on bytes that are not RESP2. */
  next(): RespValue | typeof INCOMPLETE {
    if (this.#need > 0) return INCOMPLETE;
    const start = this.#pos;
    this.#wanted = 0;
    const value = this.#read(0);
    if (value === INCOMPLETE) {
      this.#pos = start;
      this.#need = this.#wanted > 0 ? this.#wanted - start : 0;
    }
    return value;
  }

  /** Bytes held that no complete reply has used yet. */
  get buffered(): number {
    return this.#buf.length - this.#pos + this.#heldBytes;
  }

  #read(depth: number): RespValue | typeof INCOMPLETE {
    const buf = this.#buf;
    const type = buf[this.#pos];
    if (type === undefined) return INCOMPLETE;
    const lineEnd = this.#lineEnd(this.#pos + 1);
    if (lineEnd < 0) return INCOMPLETE;
    const lineStart = this.#pos + 1;
    switch (type) {
      case 0x2b: // '+'
        this.#pos = lineEnd + 2;
        return buf.toString('latin1', lineStart, lineEnd);
      case 0x2d: // '-'
        this.#pos = lineEnd + 2;
        return new RespErrorReply(buf.toString('utf8', lineStart, lineEnd));
      case 0x3a: // ':'
        this.#pos = lineEnd + 2;
        return parseInteger(buf, lineStart, lineEnd);
      case 0x24: {
        // '$'
        const length = parseInteger(buf, lineStart, lineEnd);
        if (length === -1) {
          this.#pos = lineEnd + 2;
          return null;
        }
        if (length < 0 || length > MAX_BULK_BYTES) throw new RespProtocolError(`bad bulk length ${length}`);
        const dataStart = lineEnd + 2;
        const dataEnd = dataStart + length;
        if (buf.length < dataEnd + 2) {
          this.#wanted = dataEnd + 2;
          return INCOMPLETE;
        }
        if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF)
          throw new RespProtocolError('bulk string not followed by CRLF');
        this.#pos = dataEnd + 2;
        return buf.subarray(dataStart, dataEnd);
      }
      case 0x2a: {
        // '*'
        const count = parseInteger(buf, lineStart, lineEnd);
        this.#pos = lineEnd + 2;
        if (count === -1) return null;
        if (count < 0 || count > MAX_ARRAY_ITEMS) throw new RespProtocolError(`bad array length ${count}`);
        if (depth >= MAX_DEPTH) throw new RespProtocolError('arrays nested too deep');
        const items: RespValue[] = [];
        for (let i = 0; i < count; i++) {
          const item = this.#read(depth + 1);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item);
        }
        return items;
      }
      default:
        throw new RespProtocolError(`unexpected reply type byte 0x${type.toString(16).padStart(2, '0')}`);
    }
  }

  /** Index of the CR of the CRLF ending the line that starts at `from`; -1 if it has not arrived yet. */
  #lineEnd(from: number): number {
    const buf = this.#buf;
    const cr = buf.indexOf(CR, from);
    const lf = buf.indexOf(LF, from);
    if (lf >= 0 && (cr < 0 || lf < cr)) throw new RespProtocolError('LF without CR');
    if (cr < 0) {
      if (buf.length - from > MAX_LINE_BYTES) throw new RespProtocolError('reply line too long');
      return -1;
    }
    if (cr + 1 >= buf.length) return -1;
    if (buf[cr + 1] !== LF) throw new RespProtocolError('CR not followed by LF');
    return cr;
  }
}

/** A RESP integer: optional '-', then 1..19 digits (an int64; past 2^53 it is rounded, which no reply of ours reaches). */
function parseInteger(buf: Buffer, start: number, end: number): number {
  let i = start;
  const negative = buf[i] === 0x2d;
  if (negative) i++;
  if (i === end || end - i > 19) throw new RespProtocolError('bad integer in reply');
  let n = 0;
  for (; i < end; i++) {
    const digit = buf[i]! - 0x30;
    if (digit < 0 || digit > 9) throw new RespProtocolError('bad integer in reply');
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}
