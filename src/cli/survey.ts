// `survey`: what the Redis keyspace holds before a copy (src/bulk/survey.ts). Reads Redis only.

import { estimateKeys } from '../bulk/keyspace.js';
import { walkView, withProgress } from '../bulk/progress.js';
import { openBulkRedis } from '../bulk/stores.js';
import { survey } from '../bulk/survey.js';
import { surveyReportJson, surveyReportText } from '../bulk/survey-report.js';
import type { WalkProgress } from '../bulk/walk.js';
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

const HELP = `Usage: kask-migration-proxy survey [--config FILE] [--redis-url URL] [--match PATTERN]... [--sample N]
         [--rate KEYS_PER_S] [--json]

Answers "how far back must we copy?" before a copy: keys per pattern; value kinds (Echo timestamp strings,
seen-times stored as bare digits under older BagOStuff integer rules, other strings, ints, arrays, objects,
unconvertible); remaining TTLs; an age histogram of Echo seen-times (<= 7 d, 30 d, 90 d, 1 y, older) drawn as
bars; and how long a copy would take at --rate. Reads Redis only (SCAN, GET, PTTL); never prints values.

Options:
  --config FILE        YAML configuration (values.*, redis.key_prefix, redis.cluster_nodes)
  --redis-url URL      Redis to survey (a cluster node finds the whole cluster)
  --match PATTERN      SCAN MATCH pattern, repeatable (default: global:echo:seen:* and *:echo:seen:*)
  --sample N           read the values of a random sample of N keys (every key is still counted); default all
  --rate KEYS_PER_S    the copy rate the implied copy time is computed for (default 1000)
  --json               report as JSON on stdout

${EXIT_CODES_HELP}

Example:
  kask-migration-proxy survey --redis-url redis://10.0.0.5:6379 --sample 100000 --rate 5000
`;

const OPTIONS = { ...STORE_OPTIONS, sample: { type: 'string' }, rate: { type: 'string' } } as const;

function parse(argv: string[]) {
  const { values } = parseCommandArgs(argv, OPTIONS);
  return {
    values,
    patterns: patternsFrom(values),
    sample: intFlag('sample', values.sample, 0, 1, 100_000_000),
    rate: intFlag('rate', values.rate, 1000, 1, 10_000_000),
  };
}

export const surveyCommand: Command = {
  name: 'survey',
  summary: 'count and classify the Redis keys a copy would handle (ages, TTLs, value kinds)',
  help: HELP,
  check(argv) {
    parse(argv);
  },
  run(argv) {
    const { values, patterns, sample, rate } = parse(argv);
    const config = bulkConfig(values);
    return runBulk('survey', async () => {
      const redis = await openBulkRedis(config);
      try {
        const progress: WalkProgress = { scanned: 0, examined: 0 };
        const estimate = await estimateKeys(redis.nodes).catch(() => 0);
        const started = performance.now();
        const run = survey(redis, {
          progress,
          patterns,
          sample,
          ratePerSecond: rate,
          keyPrefix: config.redis.keyPrefix,
          values: { type: config.values.envelopeType, hmacKey: config.values.hmacKey },
        });
        const result = await withProgress(() => walkView('survey', progress, estimate, started), run);
        process.stdout.write(
          values.json ? `${JSON.stringify(surveyReportJson(result))}\n` : surveyReportText(result),
        );
        return EXIT.done;
      } finally {
        await redis.store.close();
      }
    });
  },
};
