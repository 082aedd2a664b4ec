// Typed reads of the raw YAML tree; every failure names the dotted key and what it expected.
import type { ListenAddress } from './schema.js';

/** An operator mistake in the configuration: printed as one line, exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export class Reader {
  readonly #raw: Record<string, unknown>;
  readonly #seen = new Set<string>();

  constructor(raw: Record<string, unknown>) {
    this.#raw = raw;
  }

  #get(key: string): unknown {
    this.#seen.add(key);
    let node: unknown = this.#raw;
    for (const part of key.split('.')) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  }

  check(key: string, ok: boolean, expectation: string): void {
    if (!ok) throw new ConfigError(`config key ${key}: ${expectation}`);
  }

  string(key: string, fallback: string): string {
    const v = this.#get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'number') return String(v);
    this.check(key, typeof v === 'string', `must be a string, got ${describe(v)}`);
    return v as string;
  }

  nullableString(key: string, fallback: string | null): string | null {
    const v = this.#get(key);
    if (v === undefined) return fallback;
    if (v === null || v === '') return null;
    this.check(key, typeof v === 'string', `must be a string, got ${describe(v)}`);
    return v as string;
  }

  stringList(key: string, fallback: string[]): string[] {
    const v = this.#get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string')
      return v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    this.check(key, Array.isArray(v) && v.every((s) => typeof s === 'string'), 'must be a list of strings');
    return v as string[];
  }

  int(key: string, fallback: number, min: number): number {
    const v = this.#get(key);
    if (v === undefined || v === null) return fallback;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    this.check(
      key,
      typeof n === 'number' && Number.isSafeInteger(n),
      `must be an integer, got ${describe(v)}`,
    );
    this.check(key, (n as number) >= min, `must be at least ${min}, got ${n}`);
    return n as number;
  }

  fraction(key: string, fallback: number): number {
    const v = this.#get(key);
    if (v === undefined || v === null) return fallback;
    const n = typeof v === 'string' ? Number(v) : v;
    this.check(
      key,
      typeof n === 'number' && n >= 0 && n <= 1,
      `must be a number from 0 to 1, got ${describe(v)}`,
    );
    return n as number;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.#get(key);
    if (v === undefined || v === null) return fallback;
    if (v === 'true' || v === 'false') return v === 'true';
    this.check(key, typeof v === 'boolean', `must be true or false, got ${describe(v)}`);
    return v as boolean;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.#get(key);
    if (v === undefined || v === null) return fallback;
    this.check(key, allowed.includes(v as T), `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
    return v as T;
  }

  listen(key: string, fallback: string): ListenAddress {
    return parseListen(key, this.string(key, fallback));
  }

  /** Unknown keys are typos worth failing on; Kask ignores them, but an SRE would rather know at start-up. */
  finish(): void {
    const walk = (node: Record<string, unknown>, prefix: string): void => {
      for (const [name, child] of Object.entries(node)) {
        const key = prefix + name;
        if (this.#seen.has(key)) continue;
        if (child !== null && typeof child === 'object' && !Array.isArray(child))
          walk(child as Record<string, unknown>, `${key}.`);
        else throw new ConfigError(`config key ${key}: unknown setting`);
      }
    };
    walk(this.#raw, '');
  }
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT`; port 0 asks the OS for a free one. */
export function parseListen(key: string, value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new ConfigError(`config key ${key}: must be HOST:PORT, got "${value}"`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}
