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
import { createPhaseObserver, keyForLog } from './ops/phase-observer.js';
import { BackgroundTasks } from './phases/background.js';
import { buildPhase } from './phases/build.js';
import type { RepairSink } from './phases/dual-stores.js';
import { PhaseSwitch } from './phases/phase-switch.js';
import { type LocalRedis, startLocalRedis } from './redis/local-server.js';
import { RedisStore } from './redis/store.js';

export interface RunningSidecar {
  url: string;
  port: number;
  phases: PhaseSwitch;
  metrics: Metrics;
  logger: Logger;
  /** The embedded Kask emulator, when `kask.url` is `embedded`. */
  emulator: RunningEmulator | null;
  background: BackgroundTasks;
  close(): Promise<void>;
}

export interface SidecarOptions {
  logger?: Logger;
  /** Replaces how phases are built: a seam for tests that must run a deliberately broken protocol. */
  buildPhase?: typeof buildPhase;
}

export async function startSidecar(config: Config, opts: SidecarOptions = {}): Promise<RunningSidecar> {
  const logger = opts.logger ?? createLogger(config.serviceName, config.logging.level);
  const phaseBuilder = opts.buildPhase ?? buildPhase;
  const metrics = new Metrics();
  const observer = createPhaseObserver(metrics, logger);
  const emulator = config.kask.url === 'embedded' ? await startEmbeddedKask(config, logger) : null;
  const kask = new KaskClient({ ...config.kask, url: emulator ? emulator.url : config.kask.url });

  const background = new BackgroundTasks();
  const redis = lazyRedis(config, logger);
  const repairs: RepairSink = {
    record(key, reason) {
      metrics.repairs.inc({ outcome: 'queued' });
      logger.error(
        { 'event.action': 'repair', 'event.reason': reason, 'kmp.key': keyForLog(key) },
        'key needs repair',
      );
    },
  };
  const build = (name: PhaseName) =>
    phaseBuilder(name, { config, kask, redis: redis.open, observer, repairs, background });
  const phases = new PhaseSwitch(await build(config.phase), build, (name) => {
    metrics.setPhase(name);
    logger.info({ 'event.action': 'phase', 'kmp.phase': name }, `phase ${name} in force`);
  });

  const server: Server = createFrontServer({
    baseUri: config.baseUri,
    dataPath: createDataPathHandler({
      ...config.front,
      baseUri: config.baseUri,
      currentPhase: phases.current,
      metrics,
    }),
    ops: createOpsApp({ baseUri: config.baseUri, openapi: config.front.openapi, metrics }),
    requestTimeoutMs: config.front.requestTimeoutMs,
    keepAliveTimeoutMs: config.front.keepAliveTimeoutMs,
  });
  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    // Leave nothing running behind a failed start (an embedded redis-server would outlive us).
    await Promise.allSettled([kask.close(), redis.close(), emulator?.close()]);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `http://${host}:${port}${config.baseUri}`;
  logger.info(
    { 'event.action': 'start', 'url.full': url, 'kmp.phase': phases.name },
    `serving Kask API on ${url}`,
  );

  return {
    url,
    port,
    phases,
    metrics,
    logger,
    emulator,
    background,
    async close() {
      await closeServer(server);
      await background.drain(config.shutdown.drainTimeoutMs);
      await kask.close();
      await redis.close();
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
  logger.info(
    { 'event.action': 'embedded-kask', 'url.full': emulator.url },
    `embedded Kask emulator on ${emulator.url}`,
  );
  return emulator;
}

/** Redis is opened on first need (never in kask-only); `embedded` spawns a private redis-server first. */
function lazyRedis(
  config: Config,
  logger: Logger,
): { open: () => Promise<RedisStore>; close: () => Promise<void> } {
  let store: Promise<RedisStore> | null = null;
  let local: LocalRedis | null = null;
  const create = async (): Promise<RedisStore> => {
    let url = config.redis.url;
    if (url === 'embedded') {
      local = await startLocalRedis();
      url = local.url;
      logger.info({ 'event.action': 'embedded-redis', 'url.full': url }, `embedded redis-server on ${url}`);
    }
    const redis = new RedisStore({ ...config.redis, url });
    if (!(await redis.connect())) {
      logger.warn(
        { 'event.action': 'redis.connect' },
        'Redis is not reachable yet; reconnecting in the background',
      );
    }
    return redis;
  };
  return {
    open: () => {
      store ??= create().catch((err) => {
        store = null;
        throw err;
      });
      return store;
    },
    close: async () => {
      if (store) await (await store).close();
      await local?.stop();
    },
  };
}
