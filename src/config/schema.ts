// The configuration's shape, its defaults, and the rules it must satisfy. One place, checked once at start-up.
import type { EnvelopeType } from '../codec/envelope.js';

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

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

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

export const DEFAULTS = {
  service_name: 'kask-migration-proxy',
  phase: 'migration',
  listen: '127.0.0.1:8081',
  base_uri: '/echoseen/v1/',
  front: {
    accept_put: false,
    max_key_bytes: 65536,
    max_value_bytes: 1048576,
    request_timeout_ms: 10000,
    keep_alive_timeout_ms: 5000,
    openapi: true,
  },
  kask: {
    url: 'embedded',
    connections: 64,
    connect_timeout_ms: 500,
    request_timeout_ms: 1000,
    ca_file: null,
  },
  redis: {
    url: 'embedded',
    cluster_nodes: [],
    key_prefix: '',
    ttl_seconds: 31536000,
    connect_timeout_ms: 500,
    command_timeout_ms: 300,
  },
  values: {
    envelope_type: 'JSON',
    hmac_key_file: null,
  },
  migration: {
    request_deadline_ms: 2000,
    convergence_max_rounds: 5,
    backfill: true,
    shadow_sample_rate: 0.01,
  },
  admin: {
    listen: '127.0.0.1:8091',
    token_file: null,
  },
  logging: { level: 'info' },
  emulator: { default_ttl: 86400 },
  shutdown: { drain_timeout_ms: 10000 },
  breakers: {
    kask: {
      error_threshold_percentage: 50,
      volume_threshold: 10,
      rolling_window_ms: 10000,
      reset_timeout_ms: 5000,
    },
    redis: {
      error_threshold_percentage: 50,
      volume_threshold: 10,
      rolling_window_ms: 10000,
      reset_timeout_ms: 2000,
    },
  },
  repair: {
    rate_per_second: 50,
    max_queue_keys: 1000000,
    buffer_keys: 10000,
    settle_ms: 15000,
    backoff_base_ms: 1000,
    backoff_max_ms: 300000,
  },
  fleet: { instance: null, heartbeat_interval_ms: 2000, member_ttl_ms: 10000 },
} as const;

/** Kask's own normalisation (config.go): add a trailing `/`, then a leading one. */
export function normaliseBaseUri(raw: string): string {
  let uri = raw.endsWith('/') ? raw : `${raw}/`;
  if (!uri.startsWith('/')) uri = `/${uri}`;
  return uri;
}
