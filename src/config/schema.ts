// The configuration's shape, its defaults, and the rules it must satisfy. One place, checked once at start-up.

export type PhaseName = 'kask-only' | 'migration' | 'dual-write';
export const PHASE_NAMES: readonly PhaseName[] = ['dual-write', 'migration', 'kask-only'];

export type EnvelopeType = 'JSON' | 'PHP';
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
}

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
} as const;

/** Kask's own normalisation (config.go): add a trailing `/`, then a leading one. */
export function normaliseBaseUri(raw: string): string {
  let uri = raw.endsWith('/') ? raw : `${raw}/`;
  if (!uri.startsWith('/')) uri = `/${uri}`;
  return uri;
}
