// The history of client operations and the invariants checked against it at quiescence.
import { redisToEnvelope } from '../../src/codec/convert.js';
import type { EnvelopeSettings } from '../../src/codec/envelope.js';
import { show } from './sim-redis.js';

export type ClientOp = 'GET' | 'POST' | 'DELETE';
/** What MediaWiki saw: ok = 201/204, hit = 200, miss = 404, error = 500 (outcome unknown for a mutation). */
export type Outcome = 'ok' | 'hit' | 'miss' | 'error' | 'pending';

export interface OpRecord {
  id: number;
  sidecar: string;
  /** The phase that served it (resolved once per request, like the front does). */
  phase: string;
  op: ClientOp;
  key: string;
  /** POST: the envelope sent; DELETE: null (the key absent); GET: null. */
  value: Buffer | null;
  invokedAt: number;
  respondedAt: number | null;
  outcome: Outcome;
  answer: Buffer | null;
}

export class History {
  readonly ops: OpRecord[] = [];

  begin(r: Omit<OpRecord, 'id' | 'respondedAt' | 'outcome' | 'answer'>): OpRecord {
    const record: OpRecord = {
      ...r,
      id: this.ops.length + 1,
      respondedAt: null,
      outcome: 'pending',
      answer: null,
    };
    this.ops.push(record);
    return record;
  }

  get inFlight(): number {
    return this.ops.filter((o) => o.outcome === 'pending').length;
  }
}

export type Invariant =
  | 'a: acknowledged writes readable, acknowledged deletes stay deleted'
  | 'b: Kask == convert(Redis) at quiescence'
  | 'c: repair queue drained, nothing lost'
  | 'd: every request answered within 3 s'
  | 'e: a failing key does not starve the repair queue';

export const INVARIANT = {
  a: 'a: acknowledged writes readable, acknowledged deletes stay deleted',
  b: 'b: Kask == convert(Redis) at quiescence',
  c: 'c: repair queue drained, nothing lost',
  d: 'd: every request answered within 3 s',
  e: 'e: a failing key does not starve the repair queue',
} as const satisfies Record<string, Invariant>;

export interface Violation {
  invariant: Invariant;
  detail: string;
}

/** MediaWiki's RESTBagOStuff budget. */
export const CLIENT_BUDGET_MS = 3000;

interface Candidate {
  /** `legacy` or `#<op id>`. */
  source: string;
  value: Buffer | null;
}

export interface ReadableInput {
  history: History;
  key: string;
  /** The key's value (in REST form) before the run, from Redis; null = absent. */
  legacy: Buffer | null;
  /** A GET through each sidecar at quiescence: the value, null for a 404, 'error' for a 500. */
  finalReads: Array<{ sidecar: string; answer: Buffer | null | 'error' }>;
  /**
   * How long after its 500 an unknown-outcome mutation served in `phase` may still take effect: 0 where Redis is
   * written (the sidecar must converge it away), Kask's late-landing window in kask-only (Kask's own semantics).
   */
  lateEffectMs: (phase: string) => number;
}

/**
 * (a) Every final read returns the value of some write or delete that no acknowledged operation supersedes. O is
 * superseded when an acknowledged mutation of the key was invoked after O could last take effect (its response,
 * plus lateEffectMs for a 500). The legacy value counts only while no acknowledged mutation exists.
 */
export function checkReadable(input: ReadableInput): Violation[] {
  const mutations = input.history.ops.filter((o) => o.key === input.key && o.op !== 'GET');
  const acked = mutations.filter((o) => o.outcome === 'ok');
  const horizon = (o: OpRecord): number =>
    o.respondedAt === null
      ? Number.POSITIVE_INFINITY
      : o.respondedAt + (o.outcome === 'error' ? input.lateEffectMs(o.phase) : 0);
  const allowed: Candidate[] = [];
  if (acked.length === 0) allowed.push({ source: 'legacy', value: input.legacy });
  for (const o of mutations)
    if (!acked.some((a) => a !== o && a.invokedAt > horizon(o)))
      allowed.push({ source: `#${o.id}`, value: o.value });
  const out: Violation[] = [];
  for (const read of input.finalReads) {
    if (read.answer === 'error') {
      out.push({
        invariant: INVARIANT.a,
        detail: `GET ${input.key} via ${read.sidecar} answered 500 at quiescence`,
      });
      continue;
    }
    const answer = read.answer;
    if (allowed.some((c) => sameValue(c.value, answer))) continue;
    const origin = [
      ...(sameValue(input.legacy, answer) ? ['legacy'] : []),
      ...mutations.filter((o) => sameValue(o.value, answer)).map((o) => `#${o.id}`),
    ];
    out.push({
      invariant: INVARIANT.a,
      detail:
        `GET ${input.key} via ${read.sidecar} = ${show(answer)} (written by ${origin.join(', ') || 'nobody'}); ` +
        `allowed: ${allowed.map((c) => `${c.source}=${show(c.value)}`).join(', ')}`,
    });
  }
  return out;
}

/**
 * (b) Kask holds the REST form of Redis's value, or both nothing (a Redis value Kask would read as absent counts as
 * absent). A legacy value still untouched in Redis may be missing from Kask: copying it is the bulk copy's job.
 */
export function checkStoresAgree(
  key: string,
  redis: Buffer | null,
  kask: Buffer | null,
  values: EnvelopeSettings,
  legacy: Buffer | null,
): Violation[] {
  if (kask === null && redis !== null && legacy !== null && redis.equals(legacy)) return [];
  let expected: Buffer | null = null;
  if (redis !== null) {
    const converted = redisToEnvelope(redis, values);
    if (converted.ok) expected = converted.bytes;
  }
  if (sameValue(expected, kask)) return [];
  return [
    {
      invariant: INVARIANT.b,
      detail: `${key}: Redis ${show(redis)} (REST form ${show(expected)}), Kask ${show(kask)}`,
    },
  ];
}

/** (d) */
export function checkLatency(history: History): Violation[] {
  return history.ops
    .filter((o) => o.respondedAt === null || o.respondedAt - o.invokedAt > CLIENT_BUDGET_MS)
    .map((o) => ({
      invariant: INVARIANT.d,
      detail: `#${o.id} ${o.op} ${o.key} via ${o.sidecar} took ${o.respondedAt === null ? 'forever' : `${o.respondedAt - o.invokedAt} ms`}`,
    }));
}

export function sameValue(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

export function describeOp(o: OpRecord): string {
  const took = o.respondedAt === null ? 'pending' : `${o.invokedAt}–${o.respondedAt} ms`;
  const value = o.op === 'POST' ? ` ${show(o.value)}` : '';
  return `#${o.id} ${o.op} ${o.key}${value} via ${o.sidecar} [${o.phase}] ${took} → ${o.outcome}`;
}
