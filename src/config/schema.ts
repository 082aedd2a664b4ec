// The configuration's shape, its defaults, and the rules it must satisfy. One place, checked once at start-up.
import * as v from 'valibot';
import { ENVELOPE_TYPES, type EnvelopeType } from '../codec/envelope.js';
import {
  flag,
  fraction,
  integer,
  keys,
  listen,
  oneOf,
  optionalListen,
  optionalText,
  section,
  stringList,
  text,
  urlOrEmbedded,
} from './fields.js';

/**
 * The phase ladder, in order (docs/protocol.md, "The phase ladder"). A fleet changes phase host by host, and only
 * neighbours on the ladder are safe to run at the same time on different hosts.
 */
export const PHASE_NAMES = ['dual-write', 'migration', 'kask-primary', 'redis-shadow', 'kask-only'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

/** Phases that write Redis before Kask and acknowledge only what Redis accepted. */
export const REDIS_WRITING_PHASES: readonly PhaseName[] = [
  'dual-write',
  'migration',
  'kask-primary',
  'redis-shadow',
];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ListenAddress {
  host: string;
  port: number;
}

/** Settings as the rest of the code sees them: validated, normalised, frozen. */
export interface Config {
  /** Where the file came from (for SIGHUP reloads); null when built from defaults only. */
  source: string | null;
  serviceName: string;
  phase: PhaseName;
  listen: ListenAddress;
  /** Kask's base URI, normalised like Kask does: `/echoseen/v1/`. */
  baseUri: string;
  front: {
    acceptPut: boolean;
    maxKeyBytes: number;
    maxValueBytes: number;
    /** Whole-request budget (headers + body); slow clients are cut off after it. */
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    openapi: boolean;
  };
  kask: {
    /** Kask's URL including its base path (RESTBagOStuff's `url`), or `embedded` for the in-process emulator. */
    url: string;
    connections: number;
    connectTimeoutMs: number;
    requestTimeoutMs: number;
    caFile: string | null;
  };
  redis: {
    /** `redis://…`/`rediss://…`, or `embedded` to spawn a local redis-server. */
    url: string;
    /** Seed nodes (`host:port`) of a Redis Cluster; when set, `url` only supplies credentials/TLS. */
    clusterNodes: string[];
    keyPrefix: string;
    ttlSeconds: number;
    connectTimeoutMs: number;
    commandTimeoutMs: number;
  };
  values: {
    envelopeType: EnvelopeType;
    /** HMAC key bytes, read from `hmac_key_file` or KMP_HMAC_KEY; null = unsigned envelopes. */
    hmacKey: Buffer | null;
  };
  migration: {
    /**
     * One deadline for everything a request does (Redis write, Kask write, every convergence round), below
     * MediaWiki's 3 s; what is left when it passes goes to the repair queue.
     */
    requestDeadlineMs: number;
    /** How many times a dual-phase mutation re-reads Redis and re-aligns Kask before giving up. */
    convergenceMaxRounds: number;
    backfill: boolean;
    /** Fraction of dual-write GETs whose Kask value is compared off the request path. */
    shadowSampleRate: number;
  };
  admin: {
    listen: ListenAddress | null;
    /** Bearer token, read from `token_file` or KMP_ADMIN_TOKEN. */
    token: string | null;
  };
  logging: {
    level: LogLevel;
  };
  emulator: {
    defaultTtlSeconds: number;
  };
  shutdown: {
    drainTimeoutMs: number;
  };
  /** One opossum circuit breaker per backend (src/resilience/breakers.ts). */
  breakers: {
    kask: BreakerSettings;
    redis: BreakerSettings;
  };
  /** The durable repair queue and its background repairer (src/resilience/). */
  repair: {
    /** Keys re-driven per second at most, across both directions. */
    ratePerSecond: number;
    /** Cap on keys held in Redis per direction; beyond it a key is counted lost and logged. */
    maxQueueKeys: number;
    /** Cap on keys held in memory while Redis cannot take them; beyond it a key is counted lost and logged. */
    bufferKeys: number;
    /**
     * A key is repaired only once its last failure is this old: a Kask write that timed out on our side may still
     * land later (Kask's own Cassandra timeout is 12 s), and a repair must come after it, not before.
     */
    settleMs: number;
    /** A key whose repair failed waits base × 2^(failures-1), at most max, before the next attempt. */
    backoffBaseMs: number;
    backoffMaxMs: number;
  };
  /** Each sidecar's phase, published in Redis for the fleet view and the phase guard (src/fleet/). */
  fleet: {
    /** Names this sidecar in the fleet view; default `<hostname>:<listen port>`. */
    instance: string | null;
    heartbeatIntervalMs: number;
    /** A member not heard from for this long is gone. */
    memberTtlMs: number;
  };
}

/** When a backend's breaker opens (failure share over a rolling window) and how long it stays open. */
export interface BreakerSettings {
  /** Open when more than this percentage of calls in the window failed. */
  errorThresholdPercentage: number;
  /** Never open on fewer calls than this in the window. */
  volumeThreshold: number;
  rollingWindowMs: number;
  /** Open for this long, then let one trial call through (half-open). */
  resetTimeoutMs: number;
}

/** MediaWiki's RESTBagOStuff gives up after 3 s: the slowest path of one request must fit well inside it. */
export const MEDIAWIKI_BUDGET_MS = 3000;

/**
 * The config file's keys, their defaults and their rules: the YAML an operator writes (config/production.example.yaml
 * documents every key). load.ts reads it into a `Config` and adds the rules that span keys.
 */
export const SETTINGS = keys({
  service_name: text('kask-migration-proxy'),
  phase: oneOf(PHASE_NAMES, 'migration'),
  listen: listen('127.0.0.1:8081'),
  base_uri: v.pipe(text('/echoseen/v1/'), v.transform(normaliseBaseUri)),
  front: section({
    accept_put: flag(false),
    max_key_bytes: integer(65536, { min: 1 }),
    max_value_bytes: integer(1048576, { min: 1 }),
    request_timeout_ms: integer(10000, { min: 100 }),
    keep_alive_timeout_ms: integer(5000, { min: 0 }),
    openapi: flag(true),
  }),
  kask: section({
    url: v.pipe(
      urlOrEmbedded(/^https?:\/\/[^/]+/, 'must be an http(s) URL or "embedded"'),
      v.transform((url) => (url === 'embedded' ? url : url.replace(/\/*$/, '/'))),
    ),
    connections: integer(64, { min: 1 }),
    connect_timeout_ms: integer(500, { min: 1 }),
    request_timeout_ms: integer(1000, { min: 1 }),
    ca_file: optionalText(null),
  }),
  redis: section({
    url: urlOrEmbedded(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL or "embedded"'),
    cluster_nodes: stringList([]),
    key_prefix: text(''),
    ttl_seconds: integer(31536000, { min: 0 }),
    connect_timeout_ms: integer(500, { min: 1 }),
    command_timeout_ms: integer(300, { min: 1 }),
  }),
  values: section({
    envelope_type: oneOf(ENVELOPE_TYPES, 'JSON'),
    hmac_key_file: optionalText(null),
  }),
  migration: section({
    request_deadline_ms: integer(2000, { min: 1 }),
    convergence_max_rounds: integer(5, { min: 1 }),
    backfill: flag(true),
    shadow_sample_rate: fraction(0.01),
  }),
  admin: section({
    listen: optionalListen('127.0.0.1:8091'),
    token_file: optionalText(null),
  }),
  logging: section({ level: oneOf(LOG_LEVELS, 'info') }),
  emulator: section({ default_ttl: integer(86400, { min: 0 }) }),
  shutdown: section({ drain_timeout_ms: integer(10000, { min: 0 }) }),
  breakers: section({ kask: breaker({ resetTimeoutMs: 5000 }), redis: breaker({ resetTimeoutMs: 2000 }) }),
  repair: section({
    rate_per_second: integer(50, { min: 1 }),
    max_queue_keys: integer(1000000, { min: 1 }),
    buffer_keys: integer(10000, { min: 1 }),
    settle_ms: integer(15000, { min: 0 }),
    backoff_base_ms: integer(1000, { min: 1 }),
    backoff_max_ms: integer(300000, { min: 1 }),
  }),
  fleet: section({
    instance: optionalText(null),
    heartbeat_interval_ms: integer(2000, { min: 100 }),
    member_ttl_ms: integer(10000, { min: 300 }),
  }),
});

/** The config file as read: every key present, defaults filled in, YAML names. */
export type Settings = v.InferOutput<typeof SETTINGS>;

function breaker(defaults: { resetTimeoutMs: number }) {
  return section({
    error_threshold_percentage: integer(50, { min: 1, max: 100 }),
    volume_threshold: integer(10, { min: 1 }),
    // opossum splits the window into 10 buckets: below a second the statistics are too coarse to mean anything.
    rolling_window_ms: integer(10000, { min: 1000 }),
    reset_timeout_ms: integer(defaults.resetTimeoutMs, { min: 100 }),
  });
}

/** Kask's own normalisation (config.go): add a trailing `/`, then a leading one. */
export function normaliseBaseUri(raw: string): string {
  let uri = raw.endsWith('/') ? raw : `${raw}/`;
  if (!uri.startsWith('/')) uri = `/${uri}`;
  return uri;
}
