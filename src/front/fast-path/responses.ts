// The data path's answers as Kask's Go server writes them (headers in Go's sorted order, Date, no Keep-Alive
// header), built as one head string per answer so each goes out in a single write.
import { type ProblemName, problemBody } from '../problem.js';

/** Go's ResponseWriter buffers 2048 bytes: larger bodies go out chunked, smaller ones with Content-Length. */
const GO_BUFFER_BYTES = 2048;

let dateSecond = -1;
let dateText = '';
/** The Date header's value, formatted at most once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

const CLOSE = 'Connection: close\r\n';

/** 200 with the value: Content-Length up to 2048 bytes, chunked beyond (the body follows separately). */
export function valueHead(length: number, close: boolean): string {
  if (length <= GO_BUFFER_BYTES) {
    return `HTTP/1.1 200 OK\r\n${close ? CLOSE : ''}Content-Length: ${length}\r\nContent-Type: application/octet-stream\r\nDate: ${httpDate()}\r\n\r\n`;
  }
  return `HTTP/1.1 200 OK\r\n${close ? CLOSE : ''}Content-Type: application/octet-stream\r\nDate: ${httpDate()}\r\nTransfer-Encoding: chunked\r\n\r\n${length.toString(16)}\r\n`;
}

/** What follows a chunked value: the end of its chunk and the last chunk. */
export const CHUNKED_TAIL = '\r\n0\r\n\r\n';

export function isChunked(length: number): boolean {
  return length > GO_BUFFER_BYTES;
}

/** Kask's 201 has no Content-Type (it is set after WriteHeader, so Go drops it) and an explicit zero length. */
export function createdAnswer(close: boolean): string {
  return `HTTP/1.1 201 Created\r\n${close ? CLOSE : ''}Content-Length: 0\r\nDate: ${httpDate()}\r\n\r\n`;
}

export function noContentAnswer(close: boolean): string {
  return `HTTP/1.1 204 No Content\r\n${close ? CLOSE : ''}Date: ${httpDate()}\r\n\r\n`;
}

const PROBLEM_STATUS: Record<'notFound' | 'serverError', string> = {
  notFound: '404 Not Found',
  serverError: '500 Internal Server Error',
};

/** A 404 or 500 problem answer, head and body as one buffer. */
export function problemAnswer(
  name: 'notFound' | 'serverError',
  instance: Uint8Array,
  close: boolean,
): Buffer {
  const body = problemBody(name satisfies ProblemName, instance);
  const head =
    `HTTP/1.1 ${PROBLEM_STATUS[name]}\r\n${close ? CLOSE : ''}Content-Length: ${body.length}\r\n` +
    `Content-Type: application/json\r\nDate: ${httpDate()}\r\nX-Content-Type-Options: nosniff\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
