// The kinds of value a config key can hold, as valibot schemas: each reads the YAML value (or the text of an
// environment variable or a flag), falls back to its default, and fails with one line that names what it expected
// and what it got. schema.ts builds the whole file from these.
import * as v from 'valibot';
import type { ListenAddress } from './schema.js';

/** An operator mistake in the configuration: printed as one line, exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Issue = v.BaseIssue<unknown>;

/** `must be …, got <what the operator wrote>`. */
const got = (expectation: string) => (issue: Issue) => `${expectation}, got ${describe(issue.input)}`;

/** Environment variables and flags arrive as text: numbers, booleans and lists are also read from their spelling. */
const fromText = (read: (text: string) => unknown) =>
  v.pipe(
    v.unknown(),
    v.transform((input) => (typeof input === 'string' ? read(input) : input)),
  );

/** A value that may be missing or null (an empty YAML key), meaning the default. */
const orDefault = <T extends v.GenericSchema>(schema: T, fallback: v.InferOutput<T>) =>
  v.nullish(schema, fallback);

/** Text; a YAML number is taken as its text (`service_name: 5`). */
export const text = (fallback: string) =>
  orDefault(
    v.pipe(
      v.unknown(),
      v.transform((input) => (typeof input === 'number' ? String(input) : input)),
      v.string(got('must be a string')),
    ),
    fallback,
  );

/** Text that may be left empty (`null` or `""` mean none); only a missing key takes the default. */
export const optionalText = (fallback: string | null) =>
  v.optional(
    v.nullable(
      v.pipe(
        v.string(got('must be a string')),
        v.transform((s) => (s === '' ? null : s)),
      ),
    ),
    fallback,
  );

export const integer = (fallback: number, range: { min: number; max?: number }) => {
  const notInteger = got('must be an integer');
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  return orDefault(
    v.pipe(
      fromText((t) => (/^-?\d+$/.test(t.trim()) ? Number(t) : t)),
      v.number(notInteger),
      v.safeInteger(notInteger),
      v.minValue(range.min, got(`must be at least ${range.min}`)),
      v.maxValue(max, got(`must be at most ${max}`)),
    ),
    fallback,
  );
};

export const fraction = (fallback: number) => {
  const notFraction = got('must be a number from 0 to 1');
  return orDefault(
    v.pipe(
      fromText((t) => (Number.isNaN(Number(t)) ? t : Number(t))),
      v.number(notFraction),
      v.minValue(0, notFraction),
      v.maxValue(1, notFraction),
    ),
    fallback,
  );
};

export const flag = (fallback: boolean) =>
  orDefault(
    v.pipe(
      fromText((t) => (t === 'true' || t === 'false' ? t === 'true' : t)),
      v.boolean(got('must be true or false')),
    ),
    fallback,
  );

export const oneOf = <const T extends readonly [string, ...string[]]>(allowed: T, fallback: T[number]) =>
  orDefault(v.picklist(allowed, got(`must be one of ${allowed.join(', ')}`)), fallback);

/** A YAML list, or comma-separated text (`a:1, b:2`). */
export const stringList = (fallback: string[]) =>
  orDefault(
    v.pipe(
      fromText(splitList),
      v.custom<string[]>(
        (list) => Array.isArray(list) && list.every((s) => typeof s === 'string'),
        'must be a list of strings',
      ),
    ),
    fallback,
  );

/** Text that must match `ok`, or be the word `embedded`. */
export const urlOrEmbedded = (ok: RegExp, expectation: string) =>
  v.pipe(
    text('embedded'),
    v.check((url) => url === 'embedded' || ok.test(url), expectation),
  );

/** `HOST:PORT` text read into an address; a listener left empty (null) stays off. */
const toListen = <T extends string | null>() =>
  v.rawTransform<T, ListenAddress | Exclude<T, string>>(({ dataset, addIssue, NEVER }) => {
    if (dataset.value === null) return dataset.value as Exclude<T, string>;
    const address = listenAddress(dataset.value);
    if (address === null) addIssue({ message: `must be HOST:PORT, got "${dataset.value}"` });
    return address ?? NEVER;
  });

export const listen = (fallback: string) => v.pipe(text(fallback), toListen<string>());

/** A listener that is turned off by leaving the key empty. */
export const optionalListen = (fallback: string) => v.pipe(optionalText(fallback), toListen<string | null>());

/** A mapping of keys; any key it does not declare is a typo worth failing on at start-up. */
export const keys = <T extends v.ObjectEntries>(entries: T) =>
  v.pipe(
    v.unknown(),
    v.check((input) => !Array.isArray(input), got('must be a mapping')),
    v.strictObject(entries, (issue) =>
      issue.expected === 'never' ? 'unknown setting' : got('must be a mapping')(issue),
    ),
  );

/** A group of keys (`front:`); a missing group is an empty one, every key in it at its default. */
export const section = <T extends v.ObjectEntries>(entries: T) => {
  const group = keys(entries);
  return v.optional(group, () => ({}) as v.InferInput<typeof group>);
};

/** The first problem, as one line naming its dotted key; unknown keys last, as they are usually typos of others. */
export function configError(issues: readonly Issue[]): ConfigError {
  const issue = issues.find((i) => i.expected !== 'never') ?? issues[0]!;
  return new ConfigError(`config key ${v.getDotPath(issue)}: ${issue.message}`);
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT`; port 0 asks the OS for a free one. */
export function parseListen(key: string, value: string): ListenAddress {
  const address = listenAddress(value);
  if (address === null) throw new ConfigError(`config key ${key}: must be HOST:PORT, got "${value}"`);
  return address;
}

function listenAddress(value: string): ListenAddress | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) return null;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}
