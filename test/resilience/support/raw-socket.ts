// Raw TCP conversations with the sidecar for bad-input tests: partial writes, trickles, pipelining, early closes.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { parseResponse, type RawResponse } from '../../support/raw-http.js';

export interface RawConversation {
  socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves with the time (performance.now()) the server closed or reset the connection. */
  closed: Promise<number>;
  /** Resolves once `text` has been received. */
  until(text: string, timeoutMs?: number): Promise<void>;
}

export async function converse(port: number): Promise<RawConversation> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  const listeners = new Set<() => void>();
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    for (const l of listeners) l();
  });
  socket.on('error', () => {}); // resets are an expected answer to bad input
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  const received = () => Buffer.concat(chunks);
  return {
    socket,
    received,
    closed,
    until(text, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!received().includes(text)) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `did not receive ${JSON.stringify(text)}; got ${JSON.stringify(received().toString('latin1'))}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

/** Splits a stream of HTTP/1.1 responses (Content-Length, chunked or bodiless) into parsed responses. */
export function splitResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) throw new Error(`incomplete response: ${JSON.stringify(rest.toString('latin1'))}`);
    const head = rest.subarray(0, headEnd).toString('latin1');
    const status = Number(head.split(' ')[1]);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let end = headEnd + 4;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) end = rest.indexOf('\r\n0\r\n\r\n', headEnd) + 7;
    else if (length && status !== 204 && status >= 200) end += Number(length[1]);
    out.push(parseResponse(rest.subarray(0, end)));
    rest = rest.subarray(end);
  }
  return out;
}
