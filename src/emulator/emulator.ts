// An in-memory Kask: the same front as the sidecar over a TTL-honouring map. Used by tests, benchmarks and the
// embedded default; it must itself pass the Kask contract suite.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDataPathHandler } from '../front/data-path.js';
import { createFrontServer } from '../front/server.js';
import { createServiceRoutes } from '../front/service-routes.js';
import { listen } from '../net/listen.js';
import { Metrics } from '../ops/metrics.js';
import { EmulatorBackend } from './emulator-backend.js';
import { type FaultSettings, Faults } from './faults.js';
import { MemoryStore } from './memory-store.js';

export interface EmulatorOptions {
  host: string;
  port: number;
  baseUri: string;
  defaultTtlSeconds: number;
  /** Serve `PUT /_emulator/faults` (JSON FaultSettings) so tests can inject faults into a running process. */
  faultControl: boolean;
}

export interface RunningEmulator {
  server: Server;
  /** Base URL including the base URI, as RESTBagOStuff's `url` would name it. */
  url: string;
  port: number;
  store: MemoryStore;
  faults: Faults;
  close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions): Promise<RunningEmulator> {
  const store = new MemoryStore(opts.defaultTtlSeconds);
  const faults = new Faults();
  const backend = new EmulatorBackend(store, faults);
  const metrics = new Metrics();
  const serviceRoutes = createServiceRoutes({ baseUri: opts.baseUri, openapi: true, metrics });
  if (opts.faultControl) {
    serviceRoutes.put('/_emulator/faults', async (c) =>
      c.json(faults.set((await c.req.json()) as Partial<FaultSettings>)),
    );
  }
  const server = createFrontServer({
    baseUri: opts.baseUri,
    dataPath: createDataPathHandler({
      baseUri: opts.baseUri,
      acceptPut: false,
      maxKeyBytes: Number.MAX_SAFE_INTEGER,
      maxValueBytes: 64 << 20,
      currentPhase: () => backend,
      metrics,
    }),
    serviceRoutes,
    requestTimeoutMs: 300_000,
    keepAliveTimeoutMs: 5_000,
  });
  await listen(server, opts.host, opts.port);
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    server,
    url: `http://${host}:${port}${opts.baseUri}`,
    port,
    store,
    faults,
    close: () => closeServer(server),
  };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
