// The bulk copy: every key of the keyspace (or of one shard) copied from Redis into Kask by the migration phase's
// own backfill step, so the consistency rule of docs/protocol.md holds while live traffic runs: skip keys Kask
// already has, POST the converted value, re-read Redis and re-align Kask (a live write or delete always wins).
// Batches are scanned one ahead of the one being copied; the checkpoint only moves past fully handled batches,
// so a killed run resumes with no key skipped and at most one batch handled twice.
import { setTimeout as sleep } from 'node:timers/promises';
import { redisToEnvelope } from '../codec/convert.js';
import type { Config } from '../config/schema.js';
import {
  type CopyCompletion,
  deleteCompletionMarker,
  recordShardCompletion,
  SHARD_MARKER_PREFIX,
} from '../fleet/completion-marker.js';
import { VERSION } from '../ops/build-info.js';
import { backfillKey } from '../phases/backfill.js';
import type { KaskApi } from '../phases/dual-stores.js';
import { isLockKey } from '../phases/lock-keys.js';
import {
  assertResumable,
  type Checkpoint,
  checkpointPath,
  loadCheckpoint,
  newRunId,
  saveCheckpoint,
} from './checkpoint.js';
import type { CopyMetrics } from './copy-metrics.js';
import { addExample, type CopyCounters, type Examples, emptyCounters, type SkipReason } from './counters.js';
import { StoreUnreachableError } from './errors.js';
import {
  estimateKeys,
  freshStreams,
  type KeyRead,
  KeyspaceScanner,
  readKeys,
  type ScannedBatch,
} from './keyspace.js';
import { ObservedKask } from './observed-kask.js';
import { Pacer, RateLimiter } from './pacing.js';
import { forEachLimited } from './pool.js';
import { type Shard, shardLabel, shardOf } from './shard.js';
import type { BulkRedis, BulkWriter } from './stores.js';
import { echoTimestamp } from './value-kinds.js';

export interface CopySettings {
  patterns: string[];
  shard: Shard;
  concurrency: number;
  /** Keys sent to Kask per second at most; 0 = no limit. */
  ratePerSecond: number;
  /** Keys whose remaining TTL is below this are skipped (0 = none). */
  minTtlSeconds: number;
  /** Echo timestamps older than this TS_MW are skipped (null = none). */
  sinceTs: string | null;
  dryRun: boolean;
  checkpointDir: string | null;
  resume: boolean;
  /** SCAN COUNT: keys per batch (and the bound on work repeated after a kill). */
  batchSize?: number;
  /** How often a checkpoint is also flushed to disk (it is saved after every batch). */
  checkpointEveryMs?: number;
  /** Give up (exit 3) when Kask has not answered one call successfully for this long. */
  unreachableAfterMs?: number;
}

export interface CopyDeps {
  config: Config;
  redis: BulkRedis;
  kask: KaskApi;
  /** Null in a dry run: nothing is written anywhere. */
  writer: BulkWriter | null;
  metrics?: CopyMetrics;
}

export interface CopySnapshot {
  runId: string;
  shard: string;
  dryRun: boolean;
  counters: CopyCounters;
  /** Keys this shard is expected to scan (DBSIZE over the masters, divided by the shard count). */
  estimatedKeys: number;
  elapsedMs: number;
  /** Keys scanned per second by this process. */
  keysPerSecond: number;
  etaSeconds: number | null;
  kask: { state: string; concurrency: number };
}

/** How a run ended: whether it covered the keyspace and what it recorded for the phase guard. */
export type CopyCompletionRecord =
  | { kind: 'marker'; marker: CopyCompletion }
  | { kind: 'shard_recorded' }
  | { kind: 'not_recorded'; reason: string };

export interface CopyResult extends CopySnapshot {
  /** This run's failed Kask and Redis calls by `<backend>.<op> <code>`, retried ones included (not in checkpoints). */
  failedCalls: Record<string, number>;
  finished: boolean;
  resumed: boolean;
  examples: Examples;
  completion: CopyCompletionRecord;
  startedAt: string;
}

interface PreparedBatch {
  batch: ScannedBatch;
  /** Keys counted without a read: own keys and lock keys. */
  skippedEarly: { key: Buffer; reason: SkipReason }[];
  candidates: Buffer[];
  reads: KeyRead[];
}

const OWN_PREFIX = Buffer.from('kmp:');
const REDIS_RETRY_FOR_MS = 60_000;
/**
 * Tries of a key's Kask GET, and of its backfill step, before the key counts as failed (while Kask answers other
 * keys; while it fails as a whole, GETs wait instead). A key is queued for repair on every failed backfill try.
 */
export const KASK_TRIES_PER_KEY = 3;

export class Copier {
  readonly #s: Required<CopySettings>;
  readonly #d: CopyDeps;
  readonly #pacer: Pacer;
  readonly #rate: RateLimiter;
  readonly #kask: ObservedKask;
  #runId = newRunId();
  #startedAt = new Date().toISOString();
  #resumed = false;
  #started = performance.now();
  #scannedAtStart = 0;
  #estimate = 0;
  /** Counts of committed batches (what the checkpoint holds). */
  #totals = emptyCounters();
  /** Counts of the batch being copied, merged into totals when it commits. */
  #inFlight = emptyCounters();
  #examples: Examples = {};
  #stopping = false;

  constructor(settings: CopySettings, deps: CopyDeps) {
    this.#s = { batchSize: 1000, checkpointEveryMs: 3000, unreachableAfterMs: 120_000, ...settings };
    this.#d = deps;
    this.#pacer = new Pacer({ maxConcurrency: settings.concurrency });
    this.#rate = new RateLimiter(settings.ratePerSecond);
    this.#kask = new ObservedKask(deps.kask, this.#pacer);
    // Backfills go through the same observed client, so their POSTs pace the copy too.
    if (deps.writer) deps.writer.stores.kask = this.#kask;
  }

  /** Ends the run after the batch in flight (SIGTERM): the checkpoint then covers every key handled. */
  stop(): void {
    this.#stopping = true;
  }

  snapshot(): CopySnapshot {
    const counters = sumCounters(this.#totals, this.#inFlight);
    const elapsedMs = performance.now() - this.#started;
    const scannedHere = counters.scanned - this.#scannedAtStart;
    const keysPerSecond = elapsedMs > 0 ? (scannedHere * 1000) / elapsedMs : 0;
    const left = Math.max(0, this.#estimate - counters.scanned);
    return {
      runId: this.#runId,
      shard: shardLabel(this.#s.shard),
      dryRun: this.#s.dryRun,
      counters,
      estimatedKeys: this.#estimate,
      elapsedMs,
      keysPerSecond,
      etaSeconds: keysPerSecond > 0 ? left / keysPerSecond : null,
      kask: { state: this.#pacer.state, concurrency: this.#pacer.limit },
    };
  }

  async run(): Promise<CopyResult> {
    const { redis } = this.#d;
    const s = this.#s;
    const prefix = this.#d.config.redis.keyPrefix;
    const nodeIds = redis.nodes.map((n) => n.id);
    let checkpoint: Checkpoint | null = null;
    if (s.resume && s.checkpointDir) {
      checkpoint = loadCheckpoint(s.checkpointDir, s.shard);
      if (checkpoint)
        assertResumable(checkpoint, s.patterns, prefix, nodeIds, checkpointPath(s.checkpointDir, s.shard));
      // A finished run that left failed keys has nothing to resume: a new pass retries them (and skips the rest).
      if (checkpoint?.finished && checkpoint.counters.failed > 0) checkpoint = null;
    }
    if (checkpoint) {
      this.#resumed = true;
      this.#runId = checkpoint.run_id;
      this.#startedAt = checkpoint.started_at;
      this.#totals = checkpoint.counters;
      this.#examples = checkpoint.examples;
      this.#scannedAtStart = checkpoint.counters.scanned;
    } else if (!s.dryRun) {
      // A new run: the previous run's records no longer speak for the keyspace. Every shard's record goes, not
      // only this one's, so a stale record of an earlier run can never complete this one (a shard of this run that
      // already finished records again when re-run with --resume).
      await this.#redisCall(() => deleteCompletionMarker(redis.store));
      for (let i = 0; i < s.shard.count; i++)
        await this.#redisCall(() =>
          redis.store.delete(Buffer.from(`${SHARD_MARKER_PREFIX}${i}of${s.shard.count}`)),
        );
    }
    const scanner = new KeyspaceScanner(
      redis.nodes,
      s.patterns,
      prefix,
      s.batchSize,
      checkpoint?.streams ?? freshStreams(redis.nodes, s.patterns),
    );
    this.#estimate = Math.ceil((await this.#redisCall(() => estimateKeys(redis.nodes))) / s.shard.count);
    this.#d.metrics?.start(this.#estimate, this.#totals);

    let lastSync = performance.now();
    // Saved after every batch (a resumed run repeats at most the batch in flight), synced every few seconds.
    const save = (finished: boolean): void => {
      if (!s.checkpointDir || s.dryRun) return;
      const durable = finished || performance.now() - lastSync >= s.checkpointEveryMs;
      if (durable) lastSync = performance.now();
      saveCheckpoint(
        s.checkpointDir,
        {
          format: 1,
          run_id: this.#runId,
          shard: s.shard,
          patterns: s.patterns,
          key_prefix: prefix,
          streams: scanner.committed,
          counters: this.#totals,
          examples: this.#examples,
          started_at: this.#startedAt,
          updated_at: new Date().toISOString(),
          finished,
        },
        durable,
      );
    };

    try {
      let next: Promise<PreparedBatch | null> | null = scanner.finished ? null : this.#prepare(scanner);
      while (next) {
        const current = await next;
        if (!current || this.#stopping) break;
        // Read the next batch while this one is copied; a failure there surfaces when it is awaited.
        next = this.#prepare(scanner);
        next.catch(() => {});
        await this.#copyBatch(current);
        scanner.commit(current.batch);
        this.#totals = sumCounters(this.#totals, this.#inFlight);
        this.#inFlight = emptyCounters();
        save(false);
      }
    } catch (err) {
      // Keep what is done: the checkpoint still ends at the last fully handled batch.
      save(false);
      throw err;
    }
    save(scanner.finished);
    if (scanner.finished) this.#d.metrics?.finish();
    const snapshot = this.snapshot();
    return {
      ...snapshot,
      failedCalls: Object.fromEntries(this.#d.writer?.failedCalls ?? []),
      finished: scanner.finished,
      resumed: this.#resumed,
      examples: this.#examples,
      completion: await this.#recordCompletion(scanner.finished),
      startedAt: this.#startedAt,
    };
  }

  /** Scans the next batch and reads its candidates' values (null when the keyspace is done). */
  async #prepare(scanner: KeyspaceScanner): Promise<PreparedBatch | null> {
    const { shard } = this.#s;
    const batch = await this.#redisCall(() => scanner.next());
    if (!batch) return null;
    const skippedEarly: PreparedBatch['skippedEarly'] = [];
    const candidates: Buffer[] = [];
    for (const key of batch.keys) {
      if (shardOf(key, shard.count) !== shard.index) continue;
      if (key.length >= OWN_PREFIX.length && key.subarray(0, OWN_PREFIX.length).equals(OWN_PREFIX))
        skippedEarly.push({ key, reason: 'own_key' });
      else if (isLockKey(key)) skippedEarly.push({ key, reason: 'lock_key' });
      else candidates.push(key);
    }
    const node = this.#d.redis.nodes.find((n) => n.id === scanner.committed[batch.stream]!.node)!;
    const reads = await this.#redisCall(() =>
      readKeys(this.#d.redis.store, node, candidates, this.#s.minTtlSeconds > 0),
    );
    return { batch, skippedEarly, candidates, reads };
  }

  async #copyBatch(prepared: PreparedBatch): Promise<void> {
    for (const { reason } of prepared.skippedEarly) {
      this.#count('scanned');
      this.#skip(reason);
    }
    const indexes = prepared.candidates.map((_, i) => i);
    await forEachLimited(
      indexes,
      () => this.#pacer.limit,
      (i) => this.#copyKey(prepared.candidates[i]!, prepared.reads[i]!),
    );
  }

  async #copyKey(key: Buffer, read: KeyRead): Promise<void> {
    const s = this.#s;
    this.#count('scanned');
    const { value, pttlMs } = read;
    if (value === null || pttlMs === -2) return this.#skip('vanished');
    if (s.minTtlSeconds > 0 && pttlMs >= 0 && pttlMs < s.minTtlSeconds * 1000) return this.#skip('short_ttl');
    const converted = redisToEnvelope(value, this.#d.writer?.stores.values ?? this.#values());
    if (!converted.ok) {
      if (converted.reason === 'FALSE_VALUE') return this.#skip('false_value');
      addExample(this.#examples, 'unconvertible', key);
      return this.#skip('unconvertible');
    }
    if (s.sinceTs !== null) {
      const ts = echoTimestamp(value);
      if (ts !== null && ts < s.sinceTs) return this.#skip('too_old');
    }
    this.#checkKaskReachable();
    // Per key: wait only when there is something to wait for (an await each would cost two promises a key).
    if (this.#pacer.paused) await this.#pacer.ready();
    if (!this.#rate.tryAcquire()) await this.#rate.acquire();
    const present = await this.#kaskHas(key);
    if (present === null) return this.#fail(key);
    if (present) return this.#skip('present');
    if (s.dryRun || !this.#d.writer) return this.#count('copied');
    if (!(await this.#backfill(key, value, converted.bytes))) return this.#fail(key, false);
    this.#count('copied');
  }

  /**
   * The backfill step, tried again (after a short wait, and while Kask fails as a whole, after the pacer's pause) when
   * it fails: one refused or timed-out write should not cost a whole new pass over the keyspace. Each try is the full
   * rule (POST, then re-read Redis and re-align), so a retry made from a value read earlier is as safe as the first
   * try; every failed try has already queued the key for repair, since its write may still land.
   */
  async #backfill(key: Buffer, value: Buffer, envelope: Buffer): Promise<boolean> {
    const stores = this.#d.writer!.stores;
    for (let attempt = 1; ; attempt++) {
      if ((await backfillKey(stores, key, value, envelope)) !== 'failed') return true;
      if (attempt >= KASK_TRIES_PER_KEY) return false;
      await this.#beforeRetry(attempt);
    }
  }

  /**
   * Kask GET. While Kask is failing as a whole the key waits (backoff pauses) instead of failing, until Kask answers
   * again or counts as unreachable; a key Kask keeps refusing while it answers others is failed (null).
   */
  async #kaskHas(key: Buffer): Promise<boolean | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#kask.get(key)).kind === 'hit';
      } catch (err) {
        this.#d.writer?.stores.observer.backendFailure('kask', 'get', err);
        if (attempt >= KASK_TRIES_PER_KEY && this.#pacer.state !== 'failing') return null;
        await this.#beforeRetry(attempt);
      }
    }
  }

  /** Between a key's tries: stop if Kask has been silent too long, sit out a backoff pause, then a short wait. */
  async #beforeRetry(attempt: number): Promise<void> {
    this.#checkKaskReachable();
    await this.#pacer.ready();
    await sleep(Math.min(1000, 100 * attempt));
  }

  #checkKaskReachable(): void {
    const silentMs = Date.now() - this.#pacer.lastSuccessMs;
    if (this.#pacer.state === 'failing' && silentMs > this.#s.unreachableAfterMs)
      throw new StoreUnreachableError(
        'kask',
        `Kask has not answered successfully for ${Math.round(silentMs / 1000)} s; stopping (resume with --resume)`,
      );
  }

  /** A Redis call, retried with backoff for a while: Redis restarting or failing over should not end a long copy. */
  async #redisCall<T>(call: () => Promise<T>): Promise<T> {
    const start = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (Date.now() - start > REDIS_RETRY_FOR_MS)
          throw new StoreUnreachableError('redis', `Redis failed for 60 s: ${(err as Error).message}`);
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
  }

  async #recordCompletion(finished: boolean): Promise<CopyCompletionRecord> {
    const { counters } = this.snapshot();
    if (this.#s.dryRun) return { kind: 'not_recorded', reason: 'dry run' };
    if (!finished) return { kind: 'not_recorded', reason: 'stopped before the end; continue with --resume' };
    if (counters.failed > 0)
      return {
        kind: 'not_recorded',
        reason: `${counters.failed} keys failed (queued for repair); run the copy again once Kask is healthy (a new pass skips what is copied)`,
      };
    const { shard } = this.#s;
    const marker = await this.#redisCall(() =>
      recordShardCompletion(this.#d.redis.store, {
        completed_at: new Date().toISOString(),
        run_id: this.#runId,
        keys_scanned: counters.scanned,
        keys_copied: counters.copied,
        keys_skipped: counters.skipped,
        keys_failed: counters.failed,
        shards: { count: shard.count, done: [shard.index] },
        version: VERSION,
      }),
    );
    return marker ? { kind: 'marker', marker } : { kind: 'shard_recorded' };
  }

  #values() {
    const { values } = this.#d.config;
    return { type: values.envelopeType, hmacKey: values.hmacKey };
  }

  #count(outcome: 'scanned' | 'copied'): void {
    this.#inFlight[outcome]++;
    this.#d.metrics?.count(outcome);
  }

  #skip(reason: SkipReason): void {
    this.#inFlight.skipped++;
    this.#inFlight.skippedBy[reason]++;
    this.#d.metrics?.count('skipped');
  }

  #fail(key: Buffer, queue = true): void {
    this.#inFlight.failed++;
    addExample(this.#examples, 'failed', key);
    // Kask would not say whether it has the key: let the sidecars' repairers re-drive it from Redis.
    if (queue) this.#d.writer?.repairs.record(key, 'backfill_failed');
    this.#d.metrics?.count('failed');
  }
}

function sumCounters(a: CopyCounters, b: CopyCounters): CopyCounters {
  const out = emptyCounters();
  for (const k of ['scanned', 'copied', 'skipped', 'failed'] as const) out[k] = a[k] + b[k];
  for (const r of Object.keys(out.skippedBy) as SkipReason[])
    out.skippedBy[r] = (a.skippedBy[r] ?? 0) + (b.skippedBy[r] ?? 0);
  return out;
}
