// What a Redis value is, as far as the bulk tools care: Echo's seen-time (a TS_MW string, or under older
// BagOStuff integer rules the same digits stored bare), other PHP values, and values the codec cannot convert.
import { redisToEnvelope } from '../codec/convert.js';
import type { EnvelopeSettings } from '../codec/envelope.js';

export type ValueKind =
  /** `s:14:"YYYYMMDDhhmmss";`: what Echo writes (a PHP string in TS_MW form). */
  | 'echo_timestamp'
  /** Bare TS_MW digits: an int by RedisBagOStuff's integer rule (an older serializer wrote the string as an int). */
  | 'echo_timestamp_int'
  /** Other bare integer strings (RedisBagOStuff's ints). */
  | 'int'
  /** `i:N;`: an int serialized by PHP serialize() instead of stored bare (a serializer other than BagOStuff's). */
  | 'serialized_int'
  | 'string'
  | 'array'
  | 'object'
  /** null, true, floats. */
  | 'other'
  /** `b:0;`: PHP false, read by BagOStuff as a miss (never copied). */
  | 'false'
  /** Cannot be converted faithfully to a REST envelope (never copied). */
  | 'unconvertible';

export const VALUE_KINDS: readonly ValueKind[] = [
  'echo_timestamp',
  'echo_timestamp_int',
  'int',
  'serialized_int',
  'string',
  'array',
  'object',
  'other',
  'false',
  'unconvertible',
];

const SERIALIZED_TS = /^s:14:"(\d{14})";$/;
const BARE_TS = /^(\d{14})$/;
const BARE_INT = /^-?(0|[1-9]\d*)$/;

/** The TS_MW digits of an Echo seen-time value, in either form, or null. */
export function echoTimestamp(value: Buffer): string | null {
  if (value.length !== 14 && value.length !== 22) return null;
  const text = value.toString('latin1');
  const m = SERIALIZED_TS.exec(text) ?? BARE_TS.exec(text);
  return m && tsToMs(m[1]!) !== null ? m[1]! : null;
}

/** TS_MW (UTC) → epoch ms, or null when the digits are not a real time. */
export function tsToMs(ts: string): number | null {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((at, i) =>
    Number(ts.slice(at, i === 0 ? 4 : at + 2)),
  );
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo! - 1 && back.getUTCDate() === d && h! < 24
    ? ms
    : null;
}

/** Epoch ms → TS_MW. */
export function msToTs(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function classifyValue(value: Buffer, settings: EnvelopeSettings): ValueKind {
  const converted = redisToEnvelope(value, settings);
  if (!converted.ok) return converted.reason === 'FALSE_VALUE' ? 'false' : 'unconvertible';
  const text = value.subarray(0, 2).toString('latin1');
  if (echoTimestamp(value) !== null) return text === 's:' ? 'echo_timestamp' : 'echo_timestamp_int';
  if (BARE_INT.test(value.length <= 21 ? value.toString('latin1') : '')) return 'int';
  switch (text) {
    case 'i:':
      return 'serialized_int';
    case 's:':
      return 'string';
    case 'a:':
      return 'array';
    case 'O:':
    case 'C:':
      return 'object';
    default:
      return 'other';
  }
}
