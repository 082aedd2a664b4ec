// Puts the fast path in front of a node:http server: every accepted connection starts on the fast path, and moves
// to node:http (for good) at its first request of another shape. The server keeps listening, timing out and
// draining as before; its idle/all-connection closing and its timeouts are extended to fast-path connections.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { FastConnection, type FastPathContext } from './connection.js';

export interface FastPathOptions extends Omit<FastPathContext, 'keepAlive' | 'handOff' | 'forget'> {
  /** A request (head and body) must arrive within this, as node:http's requestTimeout. */
  requestTimeoutMs: number;
  /** An idle connection is closed after this, as node:http's keepAliveTimeout. */
  keepAliveTimeoutMs: number;
}

type ConnectionListener = (this: Server, socket: Socket) => void;

/** Installs the fast path on `server` (before it listens). Returns the live fast-path connections (for tests). */
export function installFastPath(server: Server, opts: FastPathOptions): Set<FastConnection> {
  const httpListener = server.listeners('connection')[0] as ConnectionListener | undefined;
  if (httpListener === undefined) throw new Error('installFastPath: the server has no connection listener');
  server.removeListener('connection', httpListener);
  const live = new Set<FastConnection>();

  const ctx: FastPathContext = {
    ...opts,
    keepAlive: () => server.listening,
    forget: (conn) => live.delete(conn),
    handOff(socket, pending, ended) {
      httpListener.call(server, socket);
      // node:http reads the socket from now on; the bytes we had already read go to its parser first.
      if (pending !== null) socket.emit('data', pending);
      if (ended) socket.emit('end');
      else if (socket.isPaused()) socket.resume();
    },
  };
  server.on('connection', (socket: Socket) => {
    live.add(new FastConnection(socket, ctx));
  });

  // Slow clients and idle keep-alive connections, checked the way node:http checks its own (a periodic sweep, not
  // a timer per request).
  const headersTimeoutMs = Math.min(opts.requestTimeoutMs, 60_000);
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const conn of live) {
        const age = now - conn.since;
        if (
          conn.partial
            ? age > Math.min(opts.requestTimeoutMs, headersTimeoutMs)
            : conn.idle && age > opts.keepAliveTimeoutMs
        )
          conn.destroy();
      }
    },
    Math.max(50, Math.min(1_000, Math.floor(opts.requestTimeoutMs / 4))),
  );
  sweep.unref();
  server.once('close', () => clearInterval(sweep));

  // Drain: node:http's close() closes idle connections through these; make them see ours too.
  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = () => {
    for (const conn of live) if (conn.idle) conn.destroy();
    closeIdle();
  };
  server.closeAllConnections = () => {
    for (const conn of live) conn.destroy();
    closeAll();
  };
  return live;
}
