// What a SIGHUP may change in a running sidecar: the reloadable keys, and which other keys changed (restart needed).
import type { Config } from './schema.js';

/** Settings a running sidecar can take over from a re-read config file (YAML names). */
export const RELOADABLE_KEYS = [
  'phase',
  'logging.level',
  'migration.convergence_max_rounds',
  'migration.backfill',
  'migration.shadow_sample_rate',
  'shutdown.drain_timeout_ms',
] as const;

/** The config a running sidecar builds phases from; replaced (never mutated) on reload. */
export interface LiveConfig {
  config: Config;
}

/** What changed between the running config and a re-read one, by YAML key name. */
export interface ConfigDiff {
  /** Reloadable keys whose value changed (phase excluded: the running phase is compared at apply time). */
  reloadable: string[];
  /** Other keys whose value changed: they take effect only after a restart. */
  needsRestart: string[];
  /** Phase strategies must be rebuilt (a `migration.*` setting changed). */
  rebuild: boolean;
}

/** Config field paths whose YAML key is not the plain snake_case of the path. */
const YAML_NAMES: Record<string, string> = {
  'values.hmacKey': 'values.hmac_key_file (or KMP_HMAC_KEY)',
  'admin.token': 'admin.token_file (or KMP_ADMIN_TOKEN)',
  'emulator.defaultTtlSeconds': 'emulator.default_ttl',
};

function yamlName(path: string): string {
  const listen = /^(listen|admin\.listen)\.(host|port)$/.exec(path);
  if (listen) return listen[1]!;
  return YAML_NAMES[path] ?? path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Compares every setting (secrets by bytes, never printed); `source` and `phase` are left to the caller. */
export function diffConfig(running: Config, next: Config): ConfigDiff {
  const changed: string[] = [];
  collectChanges(running, next, '', changed);
  const names = [...new Set(changed.filter((p) => p !== 'source' && p !== 'phase').map(yamlName))];
  const reloadable = names.filter((n) => (RELOADABLE_KEYS as readonly string[]).includes(n));
  return {
    reloadable,
    needsRestart: names.filter((n) => !reloadable.includes(n)),
    rebuild: reloadable.some((n) => n.startsWith('migration.')),
  };
}

/** The running config with only the reloadable settings taken from `next` (the rest waits for a restart). */
export function mergeReloadable(running: Config, next: Config): Config {
  return Object.freeze({
    ...running,
    phase: next.phase,
    logging: next.logging,
    migration: next.migration,
    shutdown: next.shutdown,
  });
}

function collectChanges(a: unknown, b: unknown, path: string, out: string[]): void {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    if (!(Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b))) out.push(path);
    return;
  }
  if (isRecord(a) && isRecord(b) && !Array.isArray(a)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
      collectChanges(a[k], b[k], path === '' ? k : `${path}.${k}`, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
