// Builds the frozen Config: defaults ← YAML file ← env overrides ← CLI overrides, then validates every key once.
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { ConfigError, configError } from './fields.js';
import { type Config, MEDIAWIKI_BUDGET_MS, SETTINGS } from './schema.js';

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
  const read = v.safeParse(SETTINGS, raw);
  if (!read.success) throw configError(read.issues);
  const s = read.output;
  const config: Config = {
    source,
    serviceName: s.service_name,
    phase: s.phase,
    listen: s.listen,
    baseUri: s.base_uri,
    front: camelKeys(s.front),
    kask: camelKeys(s.kask),
    redis: camelKeys(s.redis),
    values: {
      envelopeType: s.values.envelope_type,
      hmacKey: readSecret('values.hmac_key_file', s.values.hmac_key_file, env.KMP_HMAC_KEY, 'bytes'),
    },
    migration: camelKeys(s.migration),
    admin: {
      listen: s.admin.listen,
      token: readSecret('admin.token_file', s.admin.token_file, env.KMP_ADMIN_TOKEN, 'text'),
    },
    logging: s.logging,
    emulator: { defaultTtlSeconds: s.emulator.default_ttl },
    shutdown: camelKeys(s.shutdown),
    breakers: { kask: camelKeys(s.breakers.kask), redis: camelKeys(s.breakers.redis) },
    repair: camelKeys(s.repair),
    fleet: camelKeys(s.fleet),
  };
  check(
    'repair.backoff_max_ms',
    config.repair.backoffMaxMs >= config.repair.backoffBaseMs,
    'must be at least repair.backoff_base_ms',
  );
  check(
    'fleet.member_ttl_ms',
    config.fleet.memberTtlMs >= 2 * config.fleet.heartbeatIntervalMs,
    'must be at least twice fleet.heartbeat_interval_ms (one lost heartbeat must not drop a member)',
  );
  checkRequestBudget(config);
  return deepFreeze(config);
}

function check(key: string, ok: boolean, expectation: string): void {
  if (!ok) throw new ConfigError(`config key ${key}: ${expectation}`);
}

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** `{ max_key_bytes: 1 }` → `{ maxKeyBytes: 1 }`, typed, so the compiler holds `Config` and the schema together. */
function camelKeys<T extends Record<string, unknown>>(
  section: T,
): { [K in keyof T & string as CamelCase<K>]: T[K] } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section))
    out[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  return out as { [K in keyof T & string as CamelCase<K>]: T[K] };
}

/**
 * One deadline covers a whole request. It must stay below MediaWiki's 3 s (or MediaWiki gives up on requests the
 * sidecar is still working on), and it must leave room for the shortest complete write: Redis SET, Kask POST and
 * the first convergence re-read of Redis, each at its own timeout.
 */
function checkRequestBudget(config: Config): void {
  const deadline = config.migration.requestDeadlineMs;
  check(
    'migration.request_deadline_ms',
    deadline < MEDIAWIKI_BUDGET_MS,
    `must stay below MediaWiki's ${MEDIAWIKI_BUDGET_MS} ms, got ${deadline} ms`,
  );
  const oneWrite = config.kask.requestTimeoutMs + 2 * config.redis.commandTimeoutMs;
  check(
    'migration.request_deadline_ms',
    oneWrite <= deadline,
    `must be at least kask.request_timeout_ms + 2 × redis.command_timeout_ms (${oneWrite} ms), got ${deadline} ms`,
  );
}

/** Secrets come from a file (trailing newline trimmed) or an env var, never from the YAML itself. */
function readSecret(
  fileKey: string,
  file: string | null,
  envValue: string | undefined,
  as: 'bytes',
): Buffer | null;
function readSecret(
  fileKey: string,
  file: string | null,
  envValue: string | undefined,
  as: 'text',
): string | null;
function readSecret(
  fileKey: string,
  file: string | null,
  envValue: string | undefined,
  as: 'bytes' | 'text',
): Buffer | string | null {
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
