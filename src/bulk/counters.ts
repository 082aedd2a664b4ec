// What a copy counts, per outcome and per skip reason, and the few example keys (never values) its report shows.

export type SkipReason =
  /** Kask already has the key. */
  | 'present'
  /** The sidecar's own `kmp:` keys. */
  | 'own_key'
  | 'lock_key'
  /** Gone (deleted or expired) between SCAN and GET, or holding no string (a hash, a list: not a BagOStuff value). */
  | 'vanished'
  /** PHP false: BagOStuff reads it as a miss. */
  | 'false_value'
  | 'unconvertible'
  /** TTL below `--min-ttl`. */
  | 'short_ttl'
  /** An Echo timestamp older than `--since`. */
  | 'too_old';

export const SKIP_REASONS: readonly SkipReason[] = [
  'present',
  'own_key',
  'lock_key',
  'vanished',
  'false_value',
  'unconvertible',
  'short_ttl',
  'too_old',
];

export interface CopyCounters {
  scanned: number;
  /** Written to Kask (in a dry run: would have been). */
  copied: number;
  skipped: number;
  failed: number;
  skippedBy: Record<SkipReason, number>;
}

export function emptyCounters(): CopyCounters {
  return {
    scanned: 0,
    copied: 0,
    skipped: 0,
    failed: 0,
    skippedBy: Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>,
  };
}

/** At most this many example keys per kind are kept (and reported). */
export const MAX_EXAMPLES = 10;

/** Example keys by kind (`unconvertible`, `failed`…), as printable text, capped. */
export type Examples = Record<string, string[]>;

export function addExample(examples: Examples, kind: string, key: Buffer): void {
  const list = examples[kind] ?? [];
  examples[kind] = list;
  if (list.length < MAX_EXAMPLES) list.push(printableKey(key));
}

/** A key as report text: UTF-8 where it is, `\xNN` escapes for anything else, cut at 200 bytes. */
export function printableKey(key: Buffer): string {
  const text = key.subarray(0, 200).toString('utf8');
  const clean = text.includes('\ufffd')
    ? [...key.subarray(0, 200)]
        .map((b) =>
          b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
        )
        .join('')
    : text;
  return key.length > 200 ? `${clean}…` : clean;
}
