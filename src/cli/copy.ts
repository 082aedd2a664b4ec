// `copy`: the bulk copy of every Redis key into Kask (src/bulk/copier.ts), with progress, checkpoints, shards,
// metrics and the completion record the phase guard reads.
import pino from 'pino';
import { Copier, type CopySettings } from '../bulk/copier.js';
import { CopyMetrics } from '../bulk/copy-metrics.js';
import { copyReportJson, copyReportText } from '../bulk/copy-report.js';
import { copyView, withProgress } from '../bulk/progress.js';
import { shardLabel } from '../bulk/shard.js';
import { bulkWriter, openBulkKask, openBulkRedis, refuseAfterKaskOnly } from '../bulk/stores.js';
import { createLogger } from '../ops/logging.js';
import {
  bulkConfig,
  EXIT,
  EXIT_CODES_HELP,
  intFlag,
  parseListenFlag,
  parseShard,
  parseSince,
  patternsFrom,
  runBulk,
  STORE_OPTIONS,
} from './bulk-options.js';
import { type Command, parseCommandArgs, UsageError } from './command.js';

const HELP = `Usage: kask-migration-proxy copy [--config FILE] [--redis-url URL] [--kask-url URL] [--match PATTERN]...
         [--all-keys] [--concurrency N] [--pipeline N] [--rate KEYS_PER_S] [--min-ttl SECONDS] [--since DATE] [--dry-run]
         [--checkpoint-dir DIR] [--resume] [--shard I/N] [--json] [--metrics-listen HOST:PORT]

Copies every matching Redis key into Kask while live traffic runs, by the migration phase's own backfill step:
a key Kask already has is skipped; otherwise the converted value is POSTed, Redis is read again and Kask
re-aligned, so a live write or delete always wins and a deleted key never comes back. Scans a standalone Redis
or every master of a Redis Cluster (found behind --redis-url, or redis.cluster_nodes in --config).

Skipped (counted by reason): keys Kask already has, the sidecar's own kmp: keys, lock keys (…:lock), PHP false,
values that cannot be converted (example keys in the report, never values), keys gone before they were read,
keys whose TTL is below --min-ttl, and with --since, Echo timestamps older than the date.

Options:
  --config FILE            YAML configuration (values.*, redis.key_prefix, kask.*, repair.*) as the sidecar's
  --redis-url URL          Redis to copy from (redis://HOST:PORT[/DB]; a cluster node finds the whole cluster)
  --kask-url URL           Kask to copy to, with its base path (http://HOST:PORT/echoseen/v1/)
  --match PATTERN          SCAN MATCH pattern, repeatable (default: global:echo:seen:* and *:echo:seen:*)
  --all-keys               every key (pattern *)
  --concurrency N          keys in flight at most (default 32); halved while Kask errors or slows down
  --pipeline N             Kask requests in flight per connection (HTTP/1.1 pipelining; default 1, none). Fewer
                           connections and far fewer system calls per key; only for a Kask endpoint that serves
                           pipelined requests (Kask's own server does; many proxies do not: checked at start)
  --rate KEYS_PER_S        keys sent to Kask per second at most (default: no limit)
  --min-ttl SECONDS        skip keys expiring sooner than this (default 0: copy all)
  --since DATE             skip Echo timestamps older than DATE (2025-01-31 or an ISO 8601 time)
  --dry-run                write nothing anywhere (no Kask write, no Redis record, no checkpoint); report what
                           would be copied
  --checkpoint-dir DIR     save progress to DIR/copy-<i>of<n>.json every few seconds and at the end
  --resume                 continue from the checkpoint in --checkpoint-dir (start afresh when there is none)
  --shard I/N              handle only the keys of shard I of N (a hash of the key: N workers cover every key
                           exactly once; the completion marker is written when all N are done)
  --json                   final report as JSON on stdout
  --metrics-listen H:P     serve Prometheus metrics (kmp_copy_keys_total, kmp_copy_estimated_keys, kmp_copy_done)

Progress goes to stderr: a progress bar on a terminal, JSON lines otherwise. SIGTERM or SIGINT ends the run after
the batch in flight (checkpoint saved, exit 1); --resume continues it. Keys whose Kask outcome is unknown
are put in the sidecars' repair queue. On success the run records its completion in Redis (kmp:copy:completed),
which 'phase set kask-primary' (leaving the phases that read Redis) requires.

${EXIT_CODES_HELP}

Examples:
  kask-migration-proxy copy --redis-url redis://10.0.0.5:6379 --kask-url http://127.0.0.1:8080/echoseen/v1/ --dry-run
  kask-migration-proxy copy --config /etc/kask-migration-proxy/config.yaml --rate 5000 \\
      --checkpoint-dir /var/lib/kmp-copy --resume --shard 0/4 --metrics-listen 0.0.0.0:9102
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  'kask-url': { type: 'string' },
  'all-keys': { type: 'boolean' },
  concurrency: { type: 'string' },
  pipeline: { type: 'string' },
  rate: { type: 'string' },
  'min-ttl': { type: 'string' },
  since: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'checkpoint-dir': { type: 'string' },
  resume: { type: 'boolean' },
  shard: { type: 'string' },
  'metrics-listen': { type: 'string' },
} as const;

function parse(argv: string[]) {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values.resume && !values['checkpoint-dir']) throw new UsageError('--resume needs --checkpoint-dir DIR');
  if (values['checkpoint-dir'] === '') throw new UsageError('--checkpoint-dir needs a directory');
  const settings: CopySettings = {
    patterns: patternsFrom(values),
    shard: parseShard(values.shard),
    concurrency: intFlag('concurrency', values.concurrency, 32, 1, 4096),
    ratePerSecond: intFlag('rate', values.rate, 0, 1, 10_000_000),
    minTtlSeconds: intFlag('min-ttl', values['min-ttl'], 0, 0, 1_000_000_000),
    sinceTs: parseSince(values.since),
    dryRun: values['dry-run'] ?? false,
    checkpointDir: values['checkpoint-dir'] ?? null,
    resume: values.resume ?? false,
  };
  const metricsListen = parseListenFlag('metrics-listen', values['metrics-listen']);
  const pipeline = intFlag('pipeline', values.pipeline, 1, 1, 64);
  return { values, settings, metricsListen, pipeline };
}

export const copyCommand: Command = {
  name: 'copy',
  summary: 'copy every Redis key into Kask under the consistency rule (bulk backfill)',
  help: HELP,
  check(argv) {
    parse(argv);
  },
  run(argv) {
    const { values, settings, metricsListen, pipeline } = parse(argv);
    const config = bulkConfig(values);
    return runBulk('copy', async () => {
      const logger = createLogger(config.serviceName, 'error', pino.destination({ dest: 2, sync: true }));
      const metrics = new CopyMetrics(shardLabel(settings.shard));
      const server = metricsListen ? await metrics.serve(metricsListen.host, metricsListen.port) : null;
      const redis = await openBulkRedis(config);
      const closers: (() => Promise<unknown>)[] = [() => redis.store.close()];
      try {
        // Each key in flight has at most one Kask request out at a time.
        const connections = Math.min(Math.ceil(settings.concurrency / pipeline), 256);
        const kask = await openBulkKask(config, connections, pipeline);
        closers.unshift(() => kask.close());
        if (!settings.dryRun) await refuseAfterKaskOnly(redis.store, 'copy');
        const writer = settings.dryRun ? null : bulkWriter(config, redis.store, kask, logger);
        if (writer) closers.unshift(() => writer.close());
        const copier = new Copier(settings, { config, redis, kask, writer, metrics });
        // SIGTERM (a Job's pod being stopped) or Ctrl-C: finish the batch in flight, save, flush the repair queue.
        const stop = (): void => copier.stop();
        process.once('SIGTERM', stop).once('SIGINT', stop);
        let result: Awaited<ReturnType<Copier['run']>>;
        try {
          result = await withProgress(() => copyView(copier.snapshot()), copier.run());
        } finally {
          process.off('SIGTERM', stop).off('SIGINT', stop);
        }
        process.stdout.write(
          values.json ? `${JSON.stringify(copyReportJson(result))}\n` : copyReportText(result),
        );
        if (!result.finished) {
          process.stderr.write('kask-migration-proxy copy: stopped by a signal; continue with --resume\n');
          return EXIT.failures;
        }
        if (result.counters.failed > 0) {
          process.stderr.write(
            `kask-migration-proxy copy: ${result.counters.failed} keys failed (queued for repair); completion not recorded\n`,
          );
          return EXIT.failures;
        }
        return EXIT.done;
      } finally {
        for (const close of closers) await close().catch(() => {});
        server?.close();
      }
    });
  },
};
