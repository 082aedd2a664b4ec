// Wires one sidecar process together: config → logs, metrics, Kask client, phases → the Kask-compatible front.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { LiveConfig } from './config/reload.js';
import { type Config, type PhaseName, REDIS_WRITING_PHASES } from './config/schema.js';
import { type RunningEmulator, startEmulator } from './emulator/emulator.js';
import { Fleet, type FleetRedis } from './fleet/fleet.js';
import { FleetRegistry } from './fleet/registry.js';
import { createDataPathHandler } from './front/data-path.js';
import { installFastPath } from './front/fast-path/fast-front.js';
import { createFrontServer } from './front/server.js';
import { createServiceRoutes } from './front/service-routes.js';
import { KaskClient } from './kask/client.js';
import { listen } from './net/listen.js';
import { createBackendTimer, KASK_OPS, REDIS_OPS } from './ops/backend-timing.js';
import { VERSION } from './ops/build-info.js';
import { createLogger, type Logger } from './ops/logging.js';
import { Metrics } from './ops/metrics.js';
import { type Operations, PHASE_SETTLE_MARGIN_MS, startOperations } from './ops/operations.js';
import { createPhaseObserver } from './ops/phase-observer.js';
import type { ReloadResult } from './ops/reload.js';
import type { StatusProviders } from './ops/status-providers.js';
import { BackgroundTasks } from './phases/background.js';
import { buildPhase } from './phases/build.js';
import { PhaseSwitch } from './phases/phase-switch.js';
import { lazyOpen } from './redis/lazy-open.js';
import { type LocalRedis, startLocalRedis } from './redis/local-server.js';
import { RedisStore, type RedisStoreOptions } from './redis/store.js';
import { createResilience, type Resilience } from './resilience/resilience.js';

export interface RunningSidecar {
  url: string;
  port: number;
  phases: PhaseSwitch;
  metrics: Metrics;
  logger: Logger;
  /** The embedded Kask emulator, when `kask.url` is `embedded`. */
  emulator: RunningEmulator | null;
  background: BackgroundTasks;
  /** Circuit breakers (`breakers.states()`), the repair queue and its repairer (`repairer.status()`). */
  resilience: Resilience;
  /** Phase changes behind the phase guard (the admin API and SIGHUP use it). */
  control: Operations['control'];
  /** Breakers and the repair queue report to /status and /readyz by assigning these. */
  providers: StatusProviders;
  /** The admin API's base URL (null when `admin.listen` is empty). */
  adminUrl: string | null;
  /** Applies a re-read config (SIGHUP): reloadable keys now, the rest logged as needing a restart. */
  reload(next: Config): Promise<ReloadResult>;
  /** Graceful: stops accepting, drains requests and background work (shutdown.drain_timeout_ms), then closes. */
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
  const kask = new KaskClient({
    ...config.kask,
    url: emulator ? emulator.url : config.kask.url,
    onCall: createBackendTimer(metrics, 'kask', KASK_OPS),
  });

  const background = new BackgroundTasks();
  metrics.redisWritable.set(-1);
  const onRedisWritable = (writable: boolean) => metrics.redisWritable.set(writable ? 1 : 0);
  const redis = lazyRedis(config, logger, createBackendTimer(metrics, 'redis', REDIS_OPS), onRedisWritable);
  // Phases are built from the live config, so a reload (SIGHUP) can change their settings.
  const live: LiveConfig = { config };
  // Phases and the repairer reach both backends through their circuit breakers; failed repairs queue in Redis.
  const resilience = createResilience({
    live,
    kask,
    redis: redis.open,
    metrics,
    logger,
    observer,
    background,
  });
  const build = (name: PhaseName) =>
    phaseBuilder(name, {
      config: live.config,
      kask: resilience.kask,
      redis: resilience.redis,
      observer,
      repairs: resilience.repairs,
      background,
    });
  const fleet = createFleet(config, redis);
  const phases = new PhaseSwitch(await build(config.phase), build, {
    async settle(_leaving, entering) {
      // The old phase's backfills end within one request deadline; the repairer stops where nothing may repair.
      await background.drain(live.config.migration.requestDeadlineMs + PHASE_SETTLE_MARGIN_MS);
      if (!REDIS_WRITING_PHASES.includes(entering)) await resilience.repairer.stop();
    },
    onChange(name, leaving) {
      metrics.setPhase(name);
      resilience.phaseChanged(name);
      fleet.phaseChanged(name, leaving);
      logger.info({ 'event.action': 'phase', 'kmp.phase': name }, `phase ${name} in force`);
    },
  });
  fleet.start();
  void warnAboutFleet(fleet, config.phase, logger);

  const release = () =>
    Promise.all([resilience.close(), fleet.stop()]).then(() =>
      Promise.allSettled([kask.close(), redis.close(), emulator?.close()]),
    );
  const operations = await startOperations({
    live,
    phases,
    kask,
    redis,
    logger,
    background,
    fleet,
    onRedisWritable,
  }).catch(async (err: unknown) => {
    await release();
    throw err;
  });
  operations.providers.breakers = resilience.breakers.states;
  operations.providers.repairQueue = () => resilience.repairer.status();
  const server: Server = createFrontServer({
    baseUri: config.baseUri,
    dataPath: createDataPathHandler({
      ...config.front,
      baseUri: config.baseUri,
      currentPhase: phases.current,
      metrics,
      inFlight: operations.inFlight,
      logger,
    }),
    serviceRoutes: createServiceRoutes({
      baseUri: config.baseUri,
      openapi: config.front.openapi,
      metrics,
      readiness: operations.readiness,
    }),
    requestTimeoutMs: config.front.requestTimeoutMs,
    keepAliveTimeoutMs: config.front.keepAliveTimeoutMs,
  });
  // RESTBagOStuff's plain GET/POST/DELETE are answered from raw sockets; every other request goes on to `server`.
  installFastPath(server, {
    ...config.front,
    limits: { base: config.baseUri, ...config.front },
    currentPhase: phases.current,
    metrics,
    inFlight: operations.inFlight,
    logger,
  });
  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    // Leave nothing running behind a failed start (an embedded redis-server would outlive us).
    await operations.close();
    await release();
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
    resilience,
    control: operations.control,
    providers: operations.providers,
    adminUrl: operations.adminUrl,
    reload: operations.reload,
    async close() {
      await operations.drain(server);
      await fleet.stop();
      await operations.close();
      await resilience.close();
      await kask.close();
      await redis.close();
      await emulator?.close();
    },
  };
}

function createFleet(config: Config, redis: FleetRedis): Fleet {
  const port = config.listen.port;
  const instance = config.fleet.instance ?? (port ? `${hostname()}:${port}` : `${hostname()}/${process.pid}`);
  return new Fleet({
    registry: new FleetRegistry({
      instance,
      version: VERSION,
      memberTtlMs: config.fleet.memberTtlMs,
      // Requests of the old phase may run for one request deadline after a switch.
      settleMs: config.migration.requestDeadlineMs + PHASE_SETTLE_MARGIN_MS,
    }),
    redis,
    heartbeatIntervalMs: config.fleet.heartbeatIntervalMs,
  });
}

/** A phase from the config file is taken without the guard: say loudly when the fleet makes it unsafe. */
async function warnAboutFleet(fleet: Fleet, phase: PhaseName, logger: Logger): Promise<void> {
  const problems = await fleet.startupProblems(phase).catch(() => []);
  if (problems.length > 0)
    logger.error(
      { 'event.action': 'fleet.check', 'event.outcome': 'failure', 'kmp.phase': phase },
      `started in ${phase}, which the phase guard would refuse here: ${problems.join('; ')}; move this sidecar (kask-migration-proxy phase set) or the others (docs/runbook.md)`,
    );
}

/**
 * Redis is the single authority, so every sidecar in every data centre must write to the one primary: a replica
 * would refuse every write. Said at start-up (and by /readyz), never left to fail silently.
 */
async function checkWritable(
  redis: RedisStore,
  logger: Logger,
  onWritable: (writable: boolean) => void,
): Promise<void> {
  try {
    const writable = await redis.writable();
    onWritable(writable);
    if (!writable)
      logger.error(
        { 'event.action': 'redis.connect', 'event.reason': 'read-only replica' },
        'redis.url points at a read-only replica: every write will fail (500) until it points at the primary',
      );
  } catch {
    // unknown until readiness probes find out
  }
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
  onCall: RedisStoreOptions['onCall'],
  onWritable: (writable: boolean) => void,
): { open: () => Promise<RedisStore>; opened: () => Promise<RedisStore> | null; close: () => Promise<void> } {
  let local: LocalRedis | null = null;
  const create = async (): Promise<RedisStore> => {
    let url = config.redis.url;
    if (url === 'embedded') {
      local = await startLocalRedis();
      url = local.url;
      logger.info({ 'event.action': 'embedded-redis', 'url.full': url }, `embedded redis-server on ${url}`);
    }
    const redis = new RedisStore({ ...config.redis, url, onCall });
    if (!(await redis.connect())) {
      logger.warn(
        { 'event.action': 'redis.connect' },
        'Redis is not reachable yet; reconnecting in the background',
      );
    } else {
      await checkWritable(redis, logger, onWritable);
    }
    return redis;
  };
  const store = lazyOpen(create);
  return {
    ...store,
    close: async () => {
      const opened = store.opened();
      if (opened) await (await opened).close();
      await local?.stop();
    },
  };
}
