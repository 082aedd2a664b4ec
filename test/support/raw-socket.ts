// Raw TCP conversations with the sidecar for the bad-input tests (test/front/): partial writes, trickles, pipelining,
// early closes.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

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
