// Opening the stores a bulk tool works on: Redis (standalone, or a Redis Cluster found behind the URL or named in
// redis.cluster_nodes), Kask through the sidecar's own client, and for writing tools the DualStores the phases use,
// with the durable repair queue as the sink for keys whose Kask outcome is unknown.
import type { Config } from '../config/schema.js';
import { FLEET_KEYS } from '../fleet/registry.js';
import { KaskClient } from '../kask/client.js';
import type { Logger } from '../ops/logging.js';
import { Metrics } from '../ops/metrics.js';
import { createPhaseObserver } from '../ops/phase-observer.js';
import { dualStoresFor } from '../phases/build.js';
import type { DualStores, KaskApi } from '../phases/dual-stores.js';
import { RedisStore } from '../redis/store.js';
import { createBreakers } from '../resilience/breakers.js';
import { GuardedRedis } from '../resilience/guarded-backends.js';
import { RedisRepairLedger } from '../resilience/repair-ledger.js';
import { RepairQueue } from '../resilience/repair-queue.js';
import { BatchedReads } from './batched-reads.js';
import { BulkSettingsError, redactUrl, StoreUnreachableError } from './errors.js';
import { type ScanNode, scanNodes } from './keyspace.js';

/** SCAN and 1000-key pipelines are not request-path calls: give them room on a busy server. */
const BULK_COMMAND_TIMEOUT_MS = 5_000;

export interface BulkRedis {
  store: RedisStore;
  nodes: ScanNode[];
  cluster: boolean;
}

/** Connects to Redis and finds its masters; a standalone URL that points at a cluster node opens the cluster. */
export async function openBulkRedis(config: Config): Promise<BulkRedis> {
  const { redis } = config;
  if (redis.url === 'embedded' && redis.clusterNodes.length === 0)
    throw new BulkSettingsError('no Redis to read: give --redis-url URL (or redis.url in --config)');
  const options = {
    ...redis,
    commandTimeoutMs: Math.max(redis.commandTimeoutMs, BULK_COMMAND_TIMEOUT_MS),
    connectTimeoutMs: Math.max(redis.connectTimeoutMs, 2_000),
    autoPipelining: true,
  };
  let store = new RedisStore(options);
  const where = redis.clusterNodes.length > 0 ? redis.clusterNodes.join(',') : redactUrl(redis.url);
  if (!(await store.connect())) {
    await store.close();
    throw new StoreUnreachableError('redis', `Redis at ${where} is unreachable`);
  }
  let cluster = redis.clusterNodes.length > 0;
  if (!cluster) {
    const info = await store.client.info('cluster').catch(() => '');
    if (/cluster_enabled:1/.test(info)) {
      await store.close();
      const url = new URL(redis.url);
      store = new RedisStore({ ...options, clusterNodes: [`${url.hostname}:${url.port || '6379'}`] });
      if (!(await store.connect())) {
        await store.close();
        throw new StoreUnreachableError('redis', `Redis Cluster at ${where} is unreachable`);
      }
      cluster = true;
    }
  }
  const nodes = scanNodes(store);
  // Cluster node connections are lazy and refuse commands until connected.
  await Promise.all(
    nodes.map((n) => (n.client.status === 'wait' ? n.client.connect().catch(() => {}) : undefined)),
  );
  try {
    await Promise.all(nodes.map((n) => n.client.ping()));
  } catch (err) {
    await store.close();
    throw new StoreUnreachableError('redis', `Redis at ${where}: ${(err as Error).message}`);
  }
  return { store, nodes, cluster };
}

/**
 * Kask's client, after one GET proved it answers. With `pipelineDepth` above 1, two GETs pipelined on one connection
 * must both be answered first: many servers and proxies in front of Kask serve only the first of them.
 */
export async function openBulkKask(
  config: Config,
  connections: number,
  pipelineDepth = 1,
): Promise<KaskClient> {
  if (config.kask.url === 'embedded')
    throw new BulkSettingsError('no Kask to write: give --kask-url URL (or kask.url in --config)');
  const where = redactUrl(config.kask.url);
  const kask = new KaskClient({ ...config.kask, connections, pipelineDepth });
  try {
    await kask.get(Buffer.from('kmp:copy:probe'));
  } catch (err) {
    await kask.close();
    throw new StoreUnreachableError('kask', `Kask at ${where} is unreachable: ${(err as Error).message}`);
  }
  if (pipelineDepth > 1) {
    // No re-sent GETs: a server that answers the first and closes must fail this, not pass it on a new connection.
    const probe = new KaskClient({ ...config.kask, connections: 1, pipelineDepth: 2, retryGets: false });
    try {
      await Promise.all([probe.get(Buffer.from('kmp:copy:probe')), probe.get(Buffer.from('kmp:copy:probe'))]);
    } catch (err) {
      await kask.close();
      throw new BulkSettingsError(
        `Kask at ${where} did not answer two pipelined requests (${(err as Error).message}): run without --pipeline`,
      );
    } finally {
      await probe.close();
    }
  }
  return kask;
}

/**
 * Writing Kask from Redis is safe only while every write reaches Redis first. Once any host has run kask-only, Redis
 * misses acknowledged writes, and a copy or repair from it could undo them (docs/protocol.md): refuse.
 */
export async function refuseAfterKaskOnly(redis: RedisStore, tool: string): Promise<void> {
  const marker = await redis.get(Buffer.from(FLEET_KEYS.kaskOnlyEntered));
  if (marker !== null)
    throw new BulkSettingsError(
      `${tool} refused: a sidecar has run kask-only (${FLEET_KEYS.kaskOnlyEntered}: ${marker.toString()}), so Redis misses writes Kask has; copying from Redis now could undo them`,
    );
}

/** At most this long at exit to store what the repair queue buffered while Redis was slow. */
const CLOSE_FLUSH_BUDGET_MS = 5000;

export interface BulkWriter {
  stores: DualStores;
  repairs: RepairQueue;
  /**
   * This run's failed backend calls, by `<backend>.<op> <error code>` (`kask.backfill KASK_TIMEOUT`): the bulk tools
   * log only errors, so this is how a report says why keys failed or were tried again.
   */
  failedCalls: Map<string, number>;
  /** Flushes the repair queue (what cannot be stored is counted lost and logged), stops the breakers. */
  close(): Promise<void>;
}

/**
 * The DualStores of the migration phase, for the bulk copy and verify --repair: the same backfill and convergence
 * code, the same durable repair queue (so the sidecars' repairers re-drive keys whose Kask outcome is unknown).
 */
export function bulkWriter(config: Config, redis: RedisStore, kask: KaskApi, logger: Logger): BulkWriter {
  const metrics = new Metrics({ processMetrics: false });
  const breakers = createBreakers(config, metrics, logger);
  const guarded = new GuardedRedis(redis, breakers.redis);
  const repairs = new RepairQueue({
    ledger: new RedisRepairLedger(async () => guarded),
    maxQueueKeys: config.repair.maxQueueKeys,
    bufferKeys: config.repair.bufferKeys,
    settleMs: config.repair.settleMs,
    metrics,
    logger,
  });
  const failedCalls = new Map<string, number>();
  const observer = createPhaseObserver(metrics, logger);
  const stores: DualStores = dualStoresFor(config, {
    kask,
    redis: new BatchedReads(redis),
    observer: {
      ...observer,
      backendFailure(backend, op, err, meta) {
        const what = `${backend}.${op} ${errorCode(err)}`;
        failedCalls.set(what, (failedCalls.get(what) ?? 0) + 1);
        observer.backendFailure(backend, op, err, meta);
      },
    },
    repairs,
    background: { run: (task) => void task() },
  });
  return {
    stores,
    repairs,
    failedCalls,
    async close() {
      await repairs.close(CLOSE_FLUSH_BUDGET_MS);
      breakers.shutdown();
    },
  };
}

/** The typed code of a store error (`KASK_TIMEOUT`, `REDIS_UNAVAILABLE`…), else the error's name. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'unknown';
}
