#!/usr/bin/env node
// The floor for a Node proxy on this machine: raw `net` sockets both ways, Content-Length framing, one keep-alive
// upstream connection per client connection, one request at a time, and nothing else (no URL parsing, no headers
// beyond framing, no timeouts). Reference only: not Kask-compatible, not for production.
// Usage: node raw-forwarder.js PORT UPSTREAM_HOST:PORT   (prints {"port": N} once it listens; stops on SIGTERM)
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

const [portArg, upstreamArg] = process.argv.slice(2);
const [upHost, upPort] = (upstreamArg ?? '').split(':');

/** Bytes of one complete message (head + Content-Length body) at the start of `buf`, or -1 if incomplete. */
function messageLength(buf: Buffer): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return -1;
  const head = buf.toString('latin1', 0, end);
  const m = /\r\ncontent-length: *(\d+)/i.exec(head);
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return buf.length >= total ? total : -1;
}

/** Collects complete messages from a socket and hands each to `onMessage`. */
function framer(onMessage: (msg: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer | null = null;
  return (chunk) => {
    buf = buf === null ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      const n = messageLength(buf);
      if (n === -1) return;
      onMessage(n === buf.length ? buf : buf.subarray(0, n));
      buf = n === buf.length ? null : buf.subarray(n);
      if (buf === null) return;
    }
  };
}

const server = createServer({ noDelay: true }, (client: Socket) => {
  const upstream = connect({ host: upHost, port: Number(upPort), noDelay: true });
  client.on(
    'data',
    framer((request) => upstream.write(request)),
  );
  upstream.on(
    'data',
    framer((response) => client.write(response)),
  );
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
});
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ message: 'raw forwarder listening', port })}\n`);
});
process.once('SIGTERM', () => process.exit(0)).once('SIGINT', () => process.exit(0));
