// Recognises the request shapes RESTBagOStuff sends (GET/POST/DELETE of one key, Content-Length framing, HTTP/1.1)
// from raw bytes. Anything else, or anything merely unusual, is "other": the byte-exact node:http path answers it,
// so this parser only ever has to be right about the plain shapes, never about errors.
import { parseKey } from '../key.js';
import { parseTarget } from '../target.js';

export type FastMethod = 'GET' | 'POST' | 'DELETE';

export interface FastRequest {
  kind: 'request';
  method: FastMethod;
  /** The decoded key (a fresh buffer, safe to keep). */
  key: Buffer;
  /** The decoded path, the `instance` of a problem answer. */
  path: Buffer;
  /** Bytes from the start of the request to the end of its head (the body follows). */
  headBytes: number;
  /** The body's length (0 for GET/DELETE). */
  contentLength: number;
  /** The client asked to close after this answer (`Connection: close`). */
  close: boolean;
  requestId: string | null;
  traceparent: string | null;
  tracestate: string | null;
}

export type HeadParse = FastRequest | { kind: 'incomplete' } | { kind: 'other' };

export interface HeadLimits {
  /** The data path's base URI (raw bytes as sent, e.g. `/echoseen/v1/`). */
  base: string;
  maxKeyBytes: number;
  maxValueBytes: number;
}

/** A head longer than this is not a RESTBagOStuff request: node:http takes it (and its 431 rules). */
export const MAX_FAST_HEAD_BYTES = 8192;
const MAX_FAST_HEADERS = 64;
const INCOMPLETE = Object.freeze({ kind: 'incomplete' as const });
const OTHER = Object.freeze({ kind: 'other' as const });

const CR = 0x0d;
const LF = 0x0a;

/** token chars (RFC 9110) for header names. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;

/** Parses the request starting at `start` in `buf` (which holds everything buffered from the client). */
export function parseRequestHead(buf: Buffer, start: number, limits: HeadLimits): HeadParse {
  const end = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (end === -1)
    return hasBareLf(buf, start) || buf.length - start > MAX_FAST_HEAD_BYTES ? OTHER : INCOMPLETE;
  if (end - start > MAX_FAST_HEAD_BYTES) return OTHER;
  // Lines are split at CRLF only: a bare CR or LF left inside a line fails the checks below (→ other).
  const head = buf.toString('latin1', start, end);

  const lineEnd = head.indexOf('\r\n');
  const requestLine = lineEnd === -1 ? head : head.slice(0, lineEnd);
  const sp1 = requestLine.indexOf(' ');
  const method = requestLine.slice(0, sp1);
  if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') return OTHER;
  const sp2 = requestLine.indexOf(' ', sp1 + 1);
  if (sp2 === -1 || requestLine.slice(sp2 + 1) !== 'HTTP/1.1') return OTHER;
  const rawTarget = requestLine.slice(sp1 + 1, sp2);
  if (!rawTarget.startsWith(limits.base) || !plainTarget(rawTarget)) return OTHER;

  let contentLength = -1;
  let close = false;
  let host = false;
  let requestId: string | null = null;
  let traceparent: string | null = null;
  let tracestate: string | null = null;
  let count = 0;
  let pos = lineEnd === -1 ? head.length : lineEnd + 2;
  while (pos < head.length) {
    if (++count > MAX_FAST_HEADERS) return OTHER;
    let next = head.indexOf('\r\n', pos);
    if (next === -1) next = head.length;
    const colon = head.indexOf(':', pos);
    if (colon <= pos || colon >= next) return OTHER;
    for (let i = pos; i < colon; i++) {
      const c = head.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) return OTHER; // also obs-fold (leading space) and space before the colon
    }
    const value = headerValue(head, colon + 1, next);
    if (value === null) return OTHER;
    switch (head.slice(pos, colon).toLowerCase()) {
      case 'host':
        if (host) return OTHER;
        host = true;
        break;
      case 'content-length':
        if (contentLength !== -1 || !/^[0-9]{1,15}$/.test(value)) return OTHER;
        contentLength = Number(value);
        break;
      case 'connection': {
        const v = value.toLowerCase();
        if (v === 'close') close = true;
        else if (v !== 'keep-alive') return OTHER;
        break;
      }
      case 'x-request-id':
        if (requestId !== null) return OTHER;
        requestId = value;
        break;
      case 'traceparent':
        if (traceparent !== null) return OTHER;
        traceparent = value;
        break;
      case 'tracestate':
        if (tracestate !== null) return OTHER;
        tracestate = value;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
      case 'te':
        return OTHER;
    }
    pos = next + 2;
  }
  if (!host) return OTHER;

  if (method === 'POST') {
    if (contentLength < 1 || contentLength > limits.maxValueBytes) return OTHER;
  } else if (contentLength > 0) return OTHER;

  const target = parseTarget(rawTarget);
  if (target === null) return OTHER;
  const parsed = parseKey(target, Buffer.from(limits.base, 'latin1'));
  if (parsed.kind !== 'key' || parsed.key.length > limits.maxKeyBytes) return OTHER;
  return {
    kind: 'request',
    method,
    key: parsed.key,
    path: target.path,
    headBytes: end + 4 - start,
    contentLength: Math.max(0, contentLength),
    close,
    requestId,
    traceparent,
    tracestate,
  };
}

/** Origin-form, visible ASCII, no query or fragment: the only targets MediaWiki sends to the data path. */
function plainTarget(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3f || c === 0x23) return false;
  }
  return true;
}

/** The value with surrounding blanks trimmed; null when it holds a control character node:http would refuse. */
function headerValue(head: string, from: number, to: number): string | null {
  let a = from;
  let b = to;
  while (a < b && (head.charCodeAt(a) === 0x20 || head.charCodeAt(a) === 0x09)) a++;
  while (b > a && (head.charCodeAt(b - 1) === 0x20 || head.charCodeAt(b - 1) === 0x09)) b--;
  for (let i = a; i < b; i++) {
    const c = head.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return null;
  }
  return head.slice(a, b);
}

/** A LF not preceded by CR: a lenient framing node:http decides about (never this parser). */
function hasBareLf(buf: Buffer, start: number): boolean {
  for (let i = buf.indexOf(LF, start); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (i === start || buf[i - 1] !== CR) return true;
  }
  return false;
}
