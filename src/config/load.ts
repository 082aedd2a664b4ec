// Builds the frozen Config: defaults ← YAML file ← env overrides ← CLI overrides, then validates every key once.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ENVELOPE_TYPES, type EnvelopeType } from '../codec/envelope.js';
import { ConfigError, parseListen, Reader } from './reader.js';
import {
  type BreakerSettings,
  type Config,
  DEFAULTS,
  type LogLevel,
  MEDIAWIKI_BUDGET_MS,
  normaliseBaseUri,
  PHASE_NAMES,
  type PhaseName,
} from './schema.js';

/** Dotted config keys set from the command line or the environment (`kask.url` → value). */
export type Overrides = Record<string, string>;

/** Environment variables that override config keys (secrets never live in the YAML itself). */
const ENV_OVERRIDES: Record<string, string> = {
  KMP_PHASE: 'phase',
  KMP_LISTEN: 'listen',
  KMP_BASE_URI: 'base_uri',
  KMP_KASK_URL: 'kask.url',
  KMP_REDIS_URL: 'redis.url',
  KMP_LOG_LEVEL: 'logging.level',
  KMP_ADMIN_LISTEN: 'admin.listen',
  KMP_HMAC_KEY_FILE: 'values.hmac_key_file',
  KMP_ADMIN_TOKEN_FILE: 'admin.token_file',
};

export function loadConfig(file: string | null, overrides: Overrides = {}, env = process.env): Config {
  const raw = file === null ? {} : readYaml(file);
  const fromEnv: Overrides = {};
  for (const [name, key] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  applyOverrides(raw, { ...fromEnv, ...overrides });
  return buildConfig(raw, file, env);
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(`config file ${file} must be a YAML mapping`);
  return doc as Record<string, unknown>;
}

function applyOverrides(raw: Record<string, unknown>, overrides: Overrides): void {
  for (const [dotted, value] of Object.entries(overrides)) {
    const parts = dotted.split('.');
    let node = raw;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== 'object' || next === null) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts.at(-1)!] = value;
  }
}

function buildConfig(raw: Record<string, unknown>, source: string | null, env: NodeJS.ProcessEnv): Config {
  const r = new Reader(raw);
  const d = DEFAULTS;
  const kaskUrl = r.string('kask.url', d.kask.url);
  if (kaskUrl !== 'embedded')
    r.check('kask.url', /^https?:\/\/[^/]+/.test(kaskUrl), 'must be an http(s) URL or "embedded"');
  const redisUrl = r.string('redis.url', d.redis.url);
  if (redisUrl !== 'embedded')
    r.check('redis.url', /^rediss?:\/\//.test(redisUrl), 'must be a redis:// or rediss:// URL or "embedded"');
  const adminListen = r.nullableString('admin.listen', d.admin.listen);
  const config: Config = {
    source,
    serviceName: r.string('service_name', d.service_name),
    phase: r.oneOf<PhaseName>('phase', PHASE_NAMES, d.phase),
    listen: r.listen('listen', d.listen),
    baseUri: normaliseBaseUri(r.string('base_uri', d.base_uri)),
    front: {
      acceptPut: r.bool('front.accept_put', d.front.accept_put),
      maxKeyBytes: r.int('front.max_key_bytes', d.front.max_key_bytes, 1),
      maxValueBytes: r.int('front.max_value_bytes', d.front.max_value_bytes, 1),
      requestTimeoutMs: r.int('front.request_timeout_ms', d.front.request_timeout_ms, 100),
      keepAliveTimeoutMs: r.int('front.keep_alive_timeout_ms', d.front.keep_alive_timeout_ms, 0),
      openapi: r.bool('front.openapi', d.front.openapi),
    },
    kask: {
      url: kaskUrl === 'embedded' ? kaskUrl : kaskUrl.replace(/\/*$/, '/'),
      connections: r.int('kask.connections', d.kask.connections, 1),
      connectTimeoutMs: r.int('kask.connect_timeout_ms', d.kask.connect_timeout_ms, 1),
      requestTimeoutMs: r.int('kask.request_timeout_ms', d.kask.request_timeout_ms, 1),
      caFile: r.nullableString('kask.ca_file', d.kask.ca_file),
    },
    redis: {
      url: redisUrl,
      clusterNodes: r.stringList('redis.cluster_nodes', []),
      keyPrefix: r.string('redis.key_prefix', d.redis.key_prefix),
      ttlSeconds: r.int('redis.ttl_seconds', d.redis.ttl_seconds, 0),
      connectTimeoutMs: r.int('redis.connect_timeout_ms', d.redis.connect_timeout_ms, 1),
      commandTimeoutMs: r.int('redis.command_timeout_ms', d.redis.command_timeout_ms, 1),
    },
    values: {
      envelopeType: r.oneOf<EnvelopeType>('values.envelope_type', ENVELOPE_TYPES, d.values.envelope_type),
      hmacKey: readSecret(r, 'values.hmac_key_file', env.KMP_HMAC_KEY, 'bytes'),
    },
    migration: {
      requestDeadlineMs: r.int('migration.request_deadline_ms', d.migration.request_deadline_ms, 1),
      convergenceMaxRounds: r.int('migration.convergence_max_rounds', d.migration.convergence_max_rounds, 1),
      backfill: r.bool('migration.backfill', d.migration.backfill),
      shadowSampleRate: r.fraction('migration.shadow_sample_rate', d.migration.shadow_sample_rate),
    },
    admin: {
      listen: adminListen === null ? null : parseListen('admin.listen', adminListen),
      token: readSecret(r, 'admin.token_file', env.KMP_ADMIN_TOKEN, 'text'),
    },
    logging: {
      level: r.oneOf<LogLevel>('logging.level', ['debug', 'info', 'warn', 'error', 'fatal'], d.logging.level),
    },
    emulator: { defaultTtlSeconds: r.int('emulator.default_ttl', d.emulator.default_ttl, 0) },
    shutdown: { drainTimeoutMs: r.int('shutdown.drain_timeout_ms', d.shutdown.drain_timeout_ms, 0) },
    breakers: {
      kask: readBreaker(r, 'breakers.kask', d.breakers.kask),
      redis: readBreaker(r, 'breakers.redis', d.breakers.redis),
    },
    repair: {
      ratePerSecond: r.int('repair.rate_per_second', d.repair.rate_per_second, 1),
      maxQueueKeys: r.int('repair.max_queue_keys', d.repair.max_queue_keys, 1),
      bufferKeys: r.int('repair.buffer_keys', d.repair.buffer_keys, 1),
      settleMs: r.int('repair.settle_ms', d.repair.settle_ms, 0),
      backoffBaseMs: r.int('repair.backoff_base_ms', d.repair.backoff_base_ms, 1),
      backoffMaxMs: r.int('repair.backoff_max_ms', d.repair.backoff_max_ms, 1),
    },
    fleet: {
      instance: r.nullableString('fleet.instance', d.fleet.instance),
      heartbeatIntervalMs: r.int('fleet.heartbeat_interval_ms', d.fleet.heartbeat_interval_ms, 100),
      memberTtlMs: r.int('fleet.member_ttl_ms', d.fleet.member_ttl_ms, 300),
    },
  };
  r.check(
    'repair.backoff_max_ms',
    config.repair.backoffMaxMs >= config.repair.backoffBaseMs,
    'must be at least repair.backoff_base_ms',
  );
  r.check(
    'fleet.member_ttl_ms',
    config.fleet.memberTtlMs >= 2 * config.fleet.heartbeatIntervalMs,
    'must be at least twice fleet.heartbeat_interval_ms (one lost heartbeat must not drop a member)',
  );
  checkRequestBudget(r, config);
  r.finish();
  return deepFreeze(config);
}

function readBreaker(
  r: Reader,
  prefix: string,
  d: Record<
    'error_threshold_percentage' | 'volume_threshold' | 'rolling_window_ms' | 'reset_timeout_ms',
    number
  >,
): BreakerSettings {
  const percentage = r.int(`${prefix}.error_threshold_percentage`, d.error_threshold_percentage, 1);
  r.check(
    `${prefix}.error_threshold_percentage`,
    percentage <= 100,
    `must be at most 100, got ${percentage}`,
  );
  return {
    errorThresholdPercentage: percentage,
    volumeThreshold: r.int(`${prefix}.volume_threshold`, d.volume_threshold, 1),
    // opossum splits the window into 10 buckets: below a second the statistics are too coarse to mean anything.
    rollingWindowMs: r.int(`${prefix}.rolling_window_ms`, d.rolling_window_ms, 1000),
    resetTimeoutMs: r.int(`${prefix}.reset_timeout_ms`, d.reset_timeout_ms, 100),
  };
}

/**
 * One deadline covers a whole request. It must stay below MediaWiki's 3 s (or MediaWiki gives up on requests the
 * sidecar is still working on), and it must leave room for the shortest complete write: Redis SET, Kask POST and
 * the first convergence re-read of Redis, each at its own timeout.
 */
function checkRequestBudget(r: Reader, config: Config): void {
  const deadline = config.migration.requestDeadlineMs;
  r.check(
    'migration.request_deadline_ms',
    deadline < MEDIAWIKI_BUDGET_MS,
    `must stay below MediaWiki's ${MEDIAWIKI_BUDGET_MS} ms, got ${deadline} ms`,
  );
  const oneWrite = config.kask.requestTimeoutMs + 2 * config.redis.commandTimeoutMs;
  r.check(
    'migration.request_deadline_ms',
    oneWrite <= deadline,
    `must be at least kask.request_timeout_ms + 2 × redis.command_timeout_ms (${oneWrite} ms), got ${deadline} ms`,
  );
}

/** Secrets come from a file (trailing newline trimmed) or an env var, never from the YAML itself. */
function readSecret(r: Reader, fileKey: string, envValue: string | undefined, as: 'bytes'): Buffer | null;
function readSecret(r: Reader, fileKey: string, envValue: string | undefined, as: 'text'): string | null;
function readSecret(
  r: Reader,
  fileKey: string,
  envValue: string | undefined,
  as: 'bytes' | 'text',
): Buffer | string | null {
  const file = r.nullableString(fileKey, null);
  let secret: string | null = envValue !== undefined && envValue !== '' ? envValue : null;
  if (file !== null) {
    try {
      secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`${fileKey}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    if (secret === '') throw new ConfigError(`${fileKey}: ${file} is empty`);
  }
  if (secret === null) return null;
  return as === 'bytes' ? Buffer.from(secret, 'utf8') : secret;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export { ConfigError };
