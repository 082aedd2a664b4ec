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
import type { PhaseObserver } from './phases/observer.js';
import { PhaseSwitch } from './phases/phase-switch.js';
import { type LazyOpen, lazyOpen } from './redis/lazy-open.js';
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

/**
 * Start-up, in the order docs/architecture.md gives: telemetry, the backends, resilience, the fleet and the initial
 * phase, operations (the admin listener binds before the data listener), then the front. A failed start leaves
 * nothing running behind it.
 */
export async function startSidecar(config: Config, opts: SidecarOptions = {}): Promise<RunningSidecar> {
  const logger = opts.logger ?? createLogger(config.serviceName, config.logging.level);
  const metrics = new Metrics();
  const observer = createPhaseObserver(metrics, logger);
  const backends = await openBackends(config, metrics, logger);
  // Phases are built from the live config, so a reload (SIGHUP) can change their settings.
  const live: LiveConfig = { config };
  const background = new BackgroundTasks();
  // Phases and the repairer reach both backends through their circuit breakers; failed repairs queue in Redis.
  const { kask, redis, onRedisWritable } = backends;
  const resilience = createResilience({
    live,
    kask,
    redis: redis.open,
    metrics,
    logger,
    observer,
    background,
  });
  const fleet = createFleet(config, redis);
  const phases = await startPhases({ live, metrics, logger, observer, background, resilience, fleet }, opts);
  startFleet(fleet, config.phase, logger);
  // Leave nothing running behind a failed start (an embedded redis-server would outlive us).
  const release = () => Promise.all([resilience.close(), fleet.stop()]).then(backends.release);
  const operationsDeps = { live, phases, kask, redis, logger, background, fleet, onRedisWritable };
  const operations = await startOperations(operationsDeps).catch(undoing(release));
  operations.providers.breakers = resilience.breakers.states;
  operations.providers.repairQueue = () => resilience.repairer.status();
  const server = createFront(config, { phases, metrics, logger, operations });
  await listen(server, config.listen.host, config.listen.port).catch(
    undoing(() => operations.close().then(release)),
  );
  const { url, port } = announce(server, config, phases.name, logger);
  return {
    url,
    port,
    phases,
    metrics,
    logger,
    emulator: backends.emulator,
    background,
    resilience,
    control: operations.control,
    providers: operations.providers,
    adminUrl: operations.adminUrl,
    reload: operations.reload,
    close: () => closeInOrder(server, { operations, fleet, resilience, backends }),
  };
}

/** Redis, connected on first need (never in kask-only); `close` also stops a private redis-server. */
type LazyRedis = LazyOpen<RedisStore> & { close(): Promise<void> };

/** Kask (behind the embedded emulator when `kask.url` is `embedded`) and Redis, opened on first need. */
interface Backends {
  emulator: RunningEmulator | null;
  kask: KaskClient;
  redis: LazyRedis;
  /** Feeds kmp_redis_writable (-1 until known): a read-only replica would refuse every write. */
  onRedisWritable: (writable: boolean) => void;
  /** Shutdown: the Kask pool, Redis (and a private redis-server), the emulator, in that order. */
  close(): Promise<void>;
  /** After a failed start: all of them at once, whatever fails. */
  release(): Promise<void>;
}

async function openBackends(config: Config, metrics: Metrics, logger: Logger): Promise<Backends> {
  const emulator = config.kask.url === 'embedded' ? await startEmbeddedKask(config, logger) : null;
  const kask = new KaskClient({
    ...config.kask,
    url: emulator ? emulator.url : config.kask.url,
    onCall: createBackendTimer(metrics, 'kask', KASK_OPS),
  });
  metrics.redisWritable.set(-1);
  const onRedisWritable = (writable: boolean) => metrics.redisWritable.set(writable ? 1 : 0);
  const redis = lazyRedis(config, logger, createBackendTimer(metrics, 'redis', REDIS_OPS), onRedisWritable);
  return {
    emulator,
    kask,
    redis,
    onRedisWritable,
    async close() {
      await kask.close();
      await redis.close();
      await emulator?.close();
    },
    async release() {
      await Promise.allSettled([kask.close(), redis.close(), emulator?.close()]);
    },
  };
}

interface PhaseParts {
  live: LiveConfig;
  metrics: Metrics;
  logger: Logger;
  observer: PhaseObserver;
  background: BackgroundTasks;
  resilience: Resilience;
  fleet: Fleet;
}

/**
 * The initial phase from the config. Every later change first settles the old phase (its backfills end, the
 * repairer stops where nothing may repair), then sets kmp_phase, tells resilience and the fleet, and logs it.
 */
async function startPhases(parts: PhaseParts, opts: SidecarOptions): Promise<PhaseSwitch> {
  const { live, metrics, logger, observer, background, resilience, fleet } = parts;
  const phaseBuilder = opts.buildPhase ?? buildPhase;
  const build = (name: PhaseName) =>
    phaseBuilder(name, {
      config: live.config,
      kask: resilience.kask,
      redis: resilience.redis,
      observer,
      repairs: resilience.repairs,
      background,
    });
  return new PhaseSwitch(await build(live.config.phase), build, {
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
}

/** The Kask-compatible listener: the key routes (plain requests from raw sockets first), the service routes beside. */
function createFront(
  config: Config,
  deps: { phases: PhaseSwitch; metrics: Metrics; logger: Logger; operations: Operations },
): Server {
  const { phases, metrics, logger, operations } = deps;
  const server = createFrontServer({
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
  return server;
}

/** The one `event.action: start` line, with the URL MediaWiki should use. */
function announce(
  server: Server,
  config: Config,
  phase: PhaseName,
  logger: Logger,
): { url: string; port: number } {
  const port = (server.address() as AddressInfo).port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `http://${host}:${port}${config.baseUri}`;
  logger.info({ 'event.action': 'start', 'url.full': url, 'kmp.phase': phase }, `serving Kask API on ${url}`);
  return { url, port };
}

/**
 * Shutdown, in the order docs/architecture.md gives: drain the front and the background work, leave the fleet,
 * close the admin listener, close resilience (the repairer, what the repair queue buffers, the breakers), then the
 * backends.
 */
async function closeInOrder(
  server: Server,
  parts: { operations: Operations; fleet: Fleet; resilience: Resilience; backends: Backends },
): Promise<void> {
  await parts.operations.drain(server);
  await parts.fleet.stop();
  await parts.operations.close();
  await parts.resilience.close();
  await parts.backends.close();
}

/** For a failed start's `.catch`: stop what had started, then fail with the original error. */
function undoing(undo: () => Promise<unknown>): (err: unknown) => Promise<never> {
  return async (err) => {
    await undo();
    throw err;
  };
}

/** The fleet heartbeat starts with the initial phase; a phase the guard would refuse here is said at once. */
function startFleet(fleet: Fleet, phase: PhaseName, logger: Logger): void {
  fleet.start();
  void warnAboutFleet(fleet, phase, logger);
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
): LazyRedis {
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
