// `serve`: the sidecar itself.
import { loadConfig, type Overrides } from '../config/load.js';
import { startSidecar } from '../sidecar.js';
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

Secrets come from files named in the config or from the environment (KMP_HMAC_KEY, KMP_ADMIN_TOKEN).

Examples:
  kask-migration-proxy serve --config config/default.yaml
  kask-migration-proxy serve --config /etc/kask-migration-proxy/config.yaml --phase kask-only
`;

const FLAG_TO_KEY: Record<string, string> = {
  listen: 'listen',
  'base-uri': 'base_uri',
  phase: 'phase',
  'kask-url': 'kask.url',
  'redis-url': 'redis.url',
  'log-level': 'logging.level',
};

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the sidecar (Kask API in front of Kask and Redis)',
  help: HELP,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string' },
      listen: { type: 'string' },
      'base-uri': { type: 'string' },
      phase: { type: 'string' },
      'kask-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'log-level': { type: 'string' },
    });
    const overrides: Overrides = {};
    for (const [flag, key] of Object.entries(FLAG_TO_KEY)) {
      const value = values[flag as keyof typeof values];
      if (typeof value === 'string') overrides[key] = value;
    }
    const config = loadConfig(values.config ?? null, overrides);
    const sidecar = await startSidecar(config);
    await untilSignal();
    await sidecar.close();
    return 0;
  },
};
