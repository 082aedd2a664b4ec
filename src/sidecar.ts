// Wires one sidecar process together: config → logs, metrics, Kask client, phases → the Kask-compatible front.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config, PhaseName } from './config/schema.js';
import { createDataPathHandler } from './front/data-path.js';
import { listen } from './front/listen.js';
import { createOpsApp } from './front/ops-app.js';
import { createFrontServer } from './front/server.js';
import { KaskClient } from './kask/client.js';
import { closeServer, type RunningEmulator, startEmulator } from './kask/emulator.js';
import { createLogger, type Logger } from './ops/logging.js';
import { Metrics } from './ops/metrics.js';
import { createPhaseObserver } from './ops/phase-observer.js';
import { KaskOnlyPhase } from './phases/kask-only.js';
import type { Phase } from './phases/phase.js';
import { PhaseSwitch } from './phases/phase-switch.js';

export interface RunningSidecar {
  url: string;
  port: number;
  phases: PhaseSwitch;
  metrics: Metrics;
  logger: Logger;
  /** The embedded Kask emulator, when `kask.url` is `embedded`. */
  emulator: RunningEmulator | null;
  close(): Promise<void>;
}

export async function startSidecar(config: Config, logger = createLogger(config.serviceName, config.logging.level)): Promise<RunningSidecar> {
  const metrics = new Metrics();
  const observer = createPhaseObserver(metrics, logger);
  const emulator = config.kask.url === 'embedded' ? await startEmbeddedKask(config, logger) : null;
  const kask = new KaskClient({ ...config.kask, url: emulator ? emulator.url : config.kask.url });

  const build = async (name: PhaseName): Promise<Phase> => {
    if (name === 'kask-only') return new KaskOnlyPhase(kask, observer);
    throw new Error(`phase ${name} is not available`);
  };
  const phases = new PhaseSwitch(await build(config.phase), build, (name) => {
    metrics.setPhase(name);
    logger.info({ 'event.action': 'phase', 'kmp.phase': name }, `phase ${name} in force`);
  });

  const server: Server = createFrontServer({
    baseUri: config.baseUri,
    dataPath: createDataPathHandler({ ...config.front, baseUri: config.baseUri, currentPhase: phases.current, metrics }),
    ops: createOpsApp({ baseUri: config.baseUri, openapi: config.front.openapi, metrics }),
    requestTimeoutMs: config.front.requestTimeoutMs,
    keepAliveTimeoutMs: config.front.keepAliveTimeoutMs,
  });
  await listen(server, config.listen.host, config.listen.port);
  const port = (server.address() as AddressInfo).port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `http://${host}:${port}${config.baseUri}`;
  logger.info({ 'event.action': 'start', 'url.full': url, 'kmp.phase': phases.name }, `serving Kask API on ${url}`);

  return {
    url,
    port,
    phases,
    metrics,
    logger,
    emulator,
    async close() {
      await closeServer(server);
      await kask.close();
      await emulator?.close();
    },
  };
}

async function startEmbeddedKask(config: Config, logger: Logger): Promise<RunningEmulator> {
  const emulator = await startEmulator({
    host: '127.0.0.1',
    port: 0,
    baseUri: config.baseUri,
    defaultTtlSeconds: config.emulator.defaultTtlSeconds,
    faultControl: false,
  });
  logger.info({ 'event.action': 'embedded-kask', 'url.full': emulator.url }, `embedded Kask emulator on ${emulator.url}`);
  return emulator;
}
