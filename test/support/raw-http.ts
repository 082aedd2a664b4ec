// A byte-level HTTP/1.1 client for contract tests: sends exactly the bytes given and returns exactly what came back.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  statusLine: string;
  /** Header names lower-cased, in arrival order. */
  headers: Array<[string, string]>;
  header(name: string): string | undefined;
  /** The de-chunked body. */
  body: Buffer;
  chunked: boolean;
  raw: Buffer;
}

/** Sends one request (with `Connection: close` added unless present) and reads until the server closes. */
export function rawRequest(
  port: number,
  head: string,
  body: Buffer | string = Buffer.alloc(0),
  host = '127.0.0.1',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    let request = head.replace(/\r?\n/g, '\r\n');
    if (!/\r\nconnection:/i.test(request)) request += 'Connection: close\r\n';
    socket.write(
      Buffer.concat([
        Buffer.from(`${request}\r\n`, 'latin1'),
        Buffer.isBuffer(body) ? body : Buffer.from(body),
      ]),
    );
  });
}

/** Convenience: a request line plus Host, with optional extra header lines. */
export function requestHead(method: string, target: string, extra: string[] = []): string {
  return [`${method} ${target} HTTP/1.1`, 'Host: localhost', ...extra].join('\r\n') + '\r\n';
}

export function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`incomplete response: ${JSON.stringify(raw.toString('latin1'))}`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers = lines.map((l): [string, string] => {
    const i = l.indexOf(':');
    return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
  });
  const header = (name: string) => headers.find(([n]) => n === name.toLowerCase())?.[1];
  const rest = raw.subarray(end + 4);
  const chunked = header('transfer-encoding') === 'chunked';
  return {
    status: Number(statusLine!.split(' ')[1]),
    statusLine: statusLine!,
    headers,
    header,
    body: chunked ? dechunk(rest) : rest,
    chunked,
    raw,
  };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', i);
    const size = Number.parseInt(data.subarray(i, lineEnd).toString('latin1'), 16);
    if (!size) return Buffer.concat(out);
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    i = lineEnd + 2 + size + 2;
  }
}

/**
 * Splits a stream of HTTP/1.1 responses into parsed ones: chunked to its terminator, Content-Length as declared (no
 * body for 1xx and 204), and a response with neither (Go's plain errors) running to the end of the stream.
 */
export function splitResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) throw new Error(`incomplete response: ${JSON.stringify(rest.toString('latin1'))}`);
    const head = rest.subarray(0, headEnd).toString('latin1');
    const status = Number(head.split(' ')[1]);
    const bodiless = status === 204 || status < 200;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let end = headEnd + 4;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) end = rest.indexOf('\r\n0\r\n\r\n', headEnd) + 7;
    else if (length) end += bodiless ? 0 : Number(length[1]);
    else if (!bodiless) end = rest.length;
    out.push(parseResponse(rest.subarray(0, end)));
    rest = rest.subarray(end);
  }
  return out;
}
