// `survey`: what the keyspace holds before a copy, to answer "how far back must we copy?": keys per pattern, value
// kinds, TTLs, the age of Echo's seen-times, and the copy time all that implies. Values are classified, never shown.
import type { EnvelopeSettings } from '../codec/envelope.js';
import { addExample, type Examples } from './counters.js';
import type { BulkRedis } from './stores.js';
import { classifyValue, echoTimestamp, tsToMs, VALUE_KINDS, type ValueKind } from './value-kinds.js';
import { type WalkProgress, type WalkTally, walkKeyspace } from './walk.js';

export const AGE_BUCKETS = ['<= 7 d', '<= 30 d', '<= 90 d', '<= 1 y', 'older'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];
const AGE_LIMITS_DAYS = [7, 30, 90, 365];

export const TTL_BUCKETS = ['none', '< 1 d', '< 7 d', '< 30 d', '< 90 d', '< 1 y', '>= 1 y'] as const;
export type TtlBucket = (typeof TTL_BUCKETS)[number];
const TTL_LIMITS_DAYS = [1, 7, 30, 90, 365];

const DAY_MS = 86_400_000;

export interface SurveySettings {
  patterns: string[];
  /** Updated as the walk goes (the CLI shows it). */
  progress?: WalkProgress;
  sample: number;
  /** Keys per second the implied copy time is computed for. */
  ratePerSecond: number;
  keyPrefix: string;
  values: EnvelopeSettings;
  now?: number;
}

export interface SurveyResult extends WalkTally {
  /** Keys whose values were read (all data keys, or the sample). */
  examined: number;
  sampled: boolean;
  kinds: Record<ValueKind, number>;
  ttl: Record<TtlBucket, number>;
  /** Echo seen-times (both forms) by age. */
  age: Record<AgeBucket, number>;
  /** Keys gone between SCAN and GET. */
  vanished: number;
  examples: Examples;
  /** Keys a copy would write (data keys that convert), extrapolated from the sample. */
  copyableKeys: number;
  ratePerSecond: number;
  impliedCopySeconds: number;
}

export async function survey(redis: BulkRedis, s: SurveySettings): Promise<SurveyResult> {
  const now = s.now ?? Date.now();
  const kinds = Object.fromEntries(VALUE_KINDS.map((k) => [k, 0])) as Record<ValueKind, number>;
  const ttl = Object.fromEntries(TTL_BUCKETS.map((b) => [b, 0])) as Record<TtlBucket, number>;
  const age = Object.fromEntries(AGE_BUCKETS.map((b) => [b, 0])) as Record<AgeBucket, number>;
  const examples: Examples = {};
  let examined = 0;
  let vanished = 0;
  const tally = await walkKeyspace(
    redis,
    { patterns: s.patterns, sample: s.sample, keyPrefix: s.keyPrefix, progress: s.progress },
    async (keys, reads) => {
      reads.forEach((read, i) => {
        if (read.value === null) {
          vanished++;
          return;
        }
        examined++;
        const kind = classifyValue(read.value, s.values);
        kinds[kind]++;
        if (kind === 'unconvertible' || kind === 'echo_timestamp_int' || kind === 'serialized_int')
          addExample(examples, kind, keys[i]!);
        ttl[ttlBucket(read.pttlMs)]++;
        const ts = echoTimestamp(read.value);
        if (ts !== null) age[ageBucket(now - (tsToMs(ts) ?? now))]++;
      });
    },
  );
  const copyableShare = examined === 0 ? 0 : (examined - kinds.unconvertible - kinds.false) / (examined || 1);
  const copyableKeys = Math.round(tally.dataKeys * copyableShare);
  return {
    ...tally,
    examined,
    sampled: s.sample > 0 && s.sample < tally.dataKeys,
    kinds,
    ttl,
    age,
    vanished,
    examples,
    copyableKeys,
    ratePerSecond: s.ratePerSecond,
    impliedCopySeconds: copyableKeys / s.ratePerSecond,
  };
}

function ttlBucket(pttlMs: number): TtlBucket {
  if (pttlMs < 0) return 'none';
  const i = TTL_LIMITS_DAYS.findIndex((d) => pttlMs < d * DAY_MS);
  return i === -1 ? '>= 1 y' : TTL_BUCKETS[i + 1]!;
}

function ageBucket(ageMs: number): AgeBucket {
  const i = AGE_LIMITS_DAYS.findIndex((d) => ageMs <= d * DAY_MS);
  return i === -1 ? 'older' : AGE_BUCKETS[i]!;
}
