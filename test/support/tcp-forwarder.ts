// A killable stand-in for the Kask *process* in front of its storage: TCP on one port forwarded to the emulator.
// Stopping it closes the listener and every connection (new ones are refused), as when Kask's process dies; the
// emulator behind it keeps its data, as Cassandra does. Starting it again listens on the same port.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Forwarder {
  port: number;
  /** Kill: refuse new connections and cut the open ones. */
  stop(): Promise<void>;
  /** Restart on the same port. */
  start(): Promise<void>;
}

export async function startForwarder(targetPort: number): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const start = async (): Promise<void> => {
    const srv = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    srv.listen(port, '127.0.0.1');
    await once(srv, 'listening');
    port = (srv.address() as { port: number }).port;
    server = srv;
  };
  await start();
  return {
    get port() {
      return port;
    },
    async stop() {
      const srv = server;
      server = null;
      if (!srv) return;
      const closed = once(srv, 'close');
      srv.close();
      for (const s of sockets) s.destroy();
      await closed;
    },
    start,
  };
}
