// `verify`: Redis against Kask key by key (src/bulk/verify.ts), optionally repairing what differs.
import pino from 'pino';
import { estimateKeys } from '../bulk/keyspace.js';
import { walkView, withProgress } from '../bulk/progress.js';
import { bulkWriter, openBulkKask, openBulkRedis, refuseAfterKaskOnly } from '../bulk/stores.js';
import { verify, verifyClean, verifyReportJson, verifyReportText } from '../bulk/verify.js';
import type { WalkProgress } from '../bulk/walk.js';
import { createLogger } from '../ops/logging.js';
import {
  bulkConfig,
  EXIT,
  EXIT_CODES_HELP,
  intFlag,
  patternsFrom,
  runBulk,
  STORE_OPTIONS,
} from './bulk-options.js';
import { type Command, parseCommandArgs } from './command.js';

const HELP = `Usage: kask-migration-proxy verify [--config FILE] [--redis-url URL] [--kask-url URL] [--match PATTERN]...
         [--sample N] [--repair] [--json]

Compares every matching Redis key (or a random sample) with Kask: match, missing in Kask, different, or missing
in Redis (Kask holds a value Redis has nothing usable for). A difference is read twice before it counts, so a live
write in between is not reported. Prints counts and example keys, never values.

Options:
  --config FILE        YAML configuration (values.*, redis.key_prefix, kask.*) as the sidecar's
  --redis-url URL      Redis (a cluster node finds the whole cluster)
  --kask-url URL       Kask, with its base path (http://HOST:PORT/echoseen/v1/)
  --match PATTERN      SCAN MATCH pattern, repeatable (default: global:echo:seen:* and *:echo:seen:*)
  --sample N           check a random sample of N keys instead of all
  --repair             re-drive each differing key into Kask from Redis by the migration phase's repair step
                       (read Redis, make Kask match, converge), then check it again
  --json               report as JSON on stdout

${EXIT_CODES_HELP}
verify exits 1 while any key differs (after --repair: any key still differing) or could not be compared.

Examples:
  kask-migration-proxy verify --config /etc/kask-migration-proxy/config.yaml --sample 10000
  kask-migration-proxy verify --config /etc/kask-migration-proxy/config.yaml --repair --json
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  'kask-url': { type: 'string' },
  sample: { type: 'string' },
  repair: { type: 'boolean' },
} as const;

const CONCURRENCY = 32;

function parse(argv: string[]) {
  const { values } = parseCommandArgs(argv, OPTIONS);
  return {
    values,
    patterns: patternsFrom(values),
    sample: intFlag('sample', values.sample, 0, 1, 100_000_000),
  };
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'compare Redis with Kask key by key (optionally --repair)',
  help: HELP,
  check(argv) {
    parse(argv);
  },
  run(argv) {
    const { values, patterns, sample } = parse(argv);
    const config = bulkConfig(values);
    return runBulk('verify', async () => {
      const logger = createLogger(config.serviceName, 'error', pino.destination({ dest: 2, sync: true }));
      const redis = await openBulkRedis(config);
      const closers: (() => Promise<unknown>)[] = [() => redis.store.close()];
      try {
        const kask = await openBulkKask(config, CONCURRENCY);
        closers.unshift(() => kask.close());
        if (values.repair) await refuseAfterKaskOnly(redis.store, 'verify --repair');
        const writer = values.repair ? bulkWriter(config, redis.store, kask, logger) : null;
        if (writer) closers.unshift(() => writer.close());
        const progress: WalkProgress = { scanned: 0, examined: 0 };
        const estimate = await estimateKeys(redis.nodes).catch(() => 0);
        const started = performance.now();
        const run = verify(
          {
            progress,
            patterns,
            sample,
            repair: values.repair ?? false,
            concurrency: CONCURRENCY,
            keyPrefix: config.redis.keyPrefix,
            values: { type: config.values.envelopeType, hmacKey: config.values.hmacKey },
          },
          { redis, kask, stores: writer?.stores ?? null },
        );
        const result = await withProgress(() => walkView('verify', progress, estimate, started), run);
        process.stdout.write(
          values.json ? `${JSON.stringify(verifyReportJson(result))}\n` : verifyReportText(result),
        );
        if (verifyClean(result)) return EXIT.done;
        process.stderr.write('kask-migration-proxy verify: Redis and Kask differ (see the report)\n');
        return EXIT.failures;
      } finally {
        for (const close of closers) await close().catch(() => {});
      }
    });
  },
};
