// `serve`: the sidecar itself, with its signals: SIGHUP re-reads the config, SIGTERM/SIGINT drain and exit 0.
import { ConfigError, loadConfig, type Overrides } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../ops/logging.js';
import { reject } from '../ops/reload.js';
import { type RunningSidecar, startSidecar } from '../sidecar.js';
import { type Command, parseCommandArgs } from './command.js';
import { untilSignal } from './signals.js';

const HELP = `Usage: kask-migration-proxy serve [--config FILE] [overrides]

Serves Kask's REST API for MediaWiki's RESTBagOStuff and routes each request by the phase in force:
  dual-write  reads from Redis; writes to Redis, then Kask
  migration   reads Kask, falls back to Redis on a miss and backfills Kask; writes to Redis, then Kask
  kask-only   Kask only; Redis is not touched

Options:
  --config FILE        YAML configuration (default: built-in defaults = config/default.yaml's embedded setup)
  --listen HOST:PORT   override 'listen'
  --base-uri PATH      override 'base_uri' (e.g. /echoseen/v1/)
  --phase NAME         override 'phase' (dual-write | migration | kask-only)
  --kask-url URL       override 'kask.url': Kask's URL with its base path, or 'embedded'
  --redis-url URL      override 'redis.url': redis://HOST:PORT[/DB], rediss://…, or 'embedded'
  --log-level LEVEL    override 'logging.level' (debug | info | warn | error | fatal)
  --admin-listen H:P   override 'admin.listen' (the admin API; '' disables it)

Signals:
  SIGHUP               re-read the config file (with the same overrides); phase, logging.level, migration.* and
                       shutdown.drain_timeout_ms apply at once, other changed keys are logged as needing a restart;
                       an invalid file is rejected and the running config stays
  SIGTERM, SIGINT      stop accepting, finish requests and background backfills (shutdown.drain_timeout_ms),
                       exit 0; a second signal exits at once

Secrets come from files named in the config or from the environment (KMP_HMAC_KEY, KMP_ADMIN_TOKEN).

Examples:
  kask-migration-proxy serve --config config/default.yaml
  kask-migration-proxy serve --config /etc/kask-migration-proxy/config.yaml --phase kask-only
  kill -HUP <pid>      # after editing the config file: re-read it
`;

const FLAG_TO_KEY: Record<string, string> = {
  listen: 'listen',
  'base-uri': 'base_uri',
  phase: 'phase',
  'kask-url': 'kask.url',
  'redis-url': 'redis.url',
  'log-level': 'logging.level',
  'admin-listen': 'admin.listen',
};

const OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string' },
  'base-uri': { type: 'string' },
  phase: { type: 'string' },
  'kask-url': { type: 'string' },
  'redis-url': { type: 'string' },
  'log-level': { type: 'string' },
  'admin-listen': { type: 'string' },
} as const;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the sidecar (Kask API in front of Kask and Redis)',
  help: HELP,
  check(argv) {
    parseCommandArgs(argv, OPTIONS);
  },
  async run(argv) {
    const { values } = parseCommandArgs(argv, OPTIONS);
    const overrides: Overrides = {};
    for (const [flag, key] of Object.entries(FLAG_TO_KEY)) {
      const value = values[flag as keyof typeof values];
      if (typeof value === 'string') overrides[key] = value;
    }
    const file = values.config ?? null;
    const config = loadConfig(file, overrides);
    const logger = createLogger(config.serviceName, config.logging.level);
    // Handlers go in before the sidecar announces itself, so an early signal is never the default (fatal) one.
    const stopping = untilSignal();
    const starting = startSidecar(config, { logger });
    const hangups = onHangup(() => starting.then((s) => reloadFrom(s, file, overrides, logger)));
    let sidecar: RunningSidecar;
    try {
      sidecar = await starting;
    } catch (err) {
      hangups.stop();
      throw err;
    }
    const signal = await stopping;
    hangups.stop();
    const ignoreHangup = () =>
      logger.warn({ 'event.action': 'config.reload' }, 'SIGHUP ignored: shutting down');
    process.on('SIGHUP', ignoreHangup);
    await shutDown(sidecar, signal, logger);
    process.off('SIGHUP', ignoreHangup);
    return 0;
  },
};

/** Runs `reload` for each SIGHUP, one after another. */
function onHangup(reload: () => Promise<void>): { stop(): void } {
  let queue = Promise.resolve();
  const handler = (): void => {
    queue = queue.then(reload).catch(() => {});
  };
  process.on('SIGHUP', handler);
  return { stop: () => void process.off('SIGHUP', handler) };
}

async function reloadFrom(
  sidecar: RunningSidecar,
  file: string | null,
  overrides: Overrides,
  logger: Logger,
): Promise<void> {
  logger.info({ 'event.action': 'config.reload' }, `SIGHUP: re-reading ${file ?? 'the built-in defaults'}`);
  let next: Config;
  try {
    next = loadConfig(file, overrides);
  } catch (err) {
    reject(logger, err instanceof ConfigError ? err.message : String(err));
    return;
  }
  await sidecar.reload(next);
}

async function shutDown(sidecar: RunningSidecar, signal: NodeJS.Signals, logger: Logger): Promise<void> {
  logger.info({ 'event.action': 'shutdown', 'kmp.signal': signal }, `${signal}: shutting down`);
  const now = (second: NodeJS.Signals): void => {
    logger.warn({ 'event.action': 'shutdown', 'kmp.signal': second }, `${second} again: exiting at once`);
    logger.flush();
    process.exit(1);
  };
  process.once('SIGTERM', now).once('SIGINT', now);
  await sidecar.close();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.off('SIGTERM', now).off('SIGINT', now);
}
