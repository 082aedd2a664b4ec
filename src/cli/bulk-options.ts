// What the bulk commands (copy, survey, verify) share on the command line: config and store overrides, the key
// patterns, number and date flags, and their exit codes: 0 done, 1 failures or differences, 2 usage or config
// error, 3 a store unreachable, each non-zero one with a one-line reason on stderr.

import { BulkSettingsError, StoreUnreachableError } from '../bulk/errors.js';
import { ECHO_PATTERNS } from '../bulk/keyspace.js';
import type { Shard } from '../bulk/shard.js';
import { msToTs } from '../bulk/value-kinds.js';
import { loadConfig, type Overrides } from '../config/load.js';
import { type ConfigError, parseListen } from '../config/reader.js';
import type { Config, ListenAddress } from '../config/schema.js';
import { BackendError } from '../kask/client.js';
import { RedisError } from '../redis/store.js';
import { UsageError } from './command.js';

export const EXIT = { done: 0, failures: 1, usage: 2, unreachable: 3 } as const;

export const EXIT_CODES_HELP = `Exit status:
  0  done (verify: every key matched)
  1  finished, but some keys failed (copy) or differ (verify), or copy was stopped by SIGTERM/SIGINT
  2  usage or configuration error (bad flag, unreadable config or checkpoint)
  3  a store (Redis or Kask) is unreachable
Every non-zero status comes with a one-line reason on stderr.`;

export const STORE_OPTIONS = {
  config: { type: 'string' },
  'redis-url': { type: 'string' },
  match: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

/** The config file with `--redis-url` / `--kask-url` applied. */
export function bulkConfig(values: {
  config?: string | undefined;
  'redis-url'?: string | undefined;
  'kask-url'?: string | undefined;
}): Config {
  const overrides: Overrides = {};
  if (values['redis-url'] !== undefined) overrides['redis.url'] = values['redis-url'];
  if (values['kask-url'] !== undefined) overrides['kask.url'] = values['kask-url'];
  return loadConfig(values.config ?? null, overrides);
}

/** `--match` patterns (repeatable), `--all-keys`, or Echo's two patterns. */
export function patternsFrom(values: {
  match?: string[] | undefined;
  'all-keys'?: boolean | undefined;
}): string[] {
  const match = values.match ?? [];
  if (values['all-keys'] && match.length > 0)
    throw new UsageError('--all-keys and --match exclude each other');
  if (values['all-keys']) return ['*'];
  if (match.some((m) => m === '')) throw new UsageError('--match needs a non-empty pattern');
  return match.length > 0 ? [...new Set(match)] : ECHO_PATTERNS;
}

/** A whole number in [min, max] (undefined → fallback). */
export function intFlag(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

/** `I/N` with 0 ≤ I < N. */
export function parseShard(text: string | undefined): Shard {
  if (text === undefined) return { index: 0, count: 1 };
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text);
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index >= count)
    throw new UsageError(`--shard must be I/N with 0 <= I < N, got "${text}"`);
  return { index, count };
}

/** `--since DATE` (ISO 8601 date or time, UTC unless it says otherwise) → TS_MW cutoff. */
export function parseSince(text: string | undefined): string | null {
  if (text === undefined) return null;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms))
    throw new UsageError(`--since must be a date like 2025-01-31 or 2025-01-31T12:00:00Z, got "${text}"`);
  return msToTs(ms);
}

export function parseListenFlag(name: string, text: string | undefined): ListenAddress | null {
  if (text === undefined) return null;
  try {
    return parseListen(`--${name}`, text);
  } catch (err) {
    throw new UsageError((err as ConfigError).message.replace(/^config key /, ''));
  }
}

/**
 * Runs a bulk command body, turning its early stops into exit codes with one line on stderr: unreachable stores
 * (3) and unusable settings or checkpoints (2). UsageError and ConfigError are left to main (2).
 */
export async function runBulk(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof StoreUnreachableError) {
      process.stderr.write(`kask-migration-proxy ${name}: ${err.message}\n`);
      return EXIT.unreachable;
    }
    if (err instanceof RedisError || err instanceof BackendError) {
      const store = err instanceof RedisError ? 'Redis' : 'Kask';
      process.stderr.write(`kask-migration-proxy ${name}: ${store} failed: ${err.message}\n`);
      return EXIT.unreachable;
    }
    if (err instanceof BulkSettingsError) {
      process.stderr.write(`kask-migration-proxy ${name}: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
