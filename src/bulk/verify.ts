// `verify`: Redis against Kask, key by key: match, missing in Kask, different, or missing in Redis (Kask holds a
// value for a key Redis has nothing usable for). A difference is looked at twice before it counts (a live write
// between the two reads is not one). `--repair` re-drives each differing key by the repair step of
// docs/protocol.md (read Redis, make Kask match, converge), then looks again.
import { setTimeout as sleep } from 'node:timers/promises';
import { redisToEnvelope } from '../codec/convert.js';
import type { EnvelopeSettings } from '../codec/envelope.js';
import type { DualStores, KaskApi } from '../phases/dual-stores.js';
import { repairKask } from '../resilience/kask-repair.js';
import { addExample, type Examples } from './counters.js';
import { forEachLimited } from './pool.js';
import type { BulkRedis } from './stores.js';
import { type WalkProgress, type WalkTally, walkKeyspace } from './walk.js';

export type Verdict = 'match' | 'missing_in_kask' | 'different' | 'missing_in_redis';
export const VERDICTS: readonly Verdict[] = ['match', 'missing_in_kask', 'different', 'missing_in_redis'];

export interface VerifySettings {
  patterns: string[];
  /** Updated as the walk goes (the CLI shows it). */
  progress?: WalkProgress;
  sample: number;
  repair: boolean;
  concurrency: number;
  keyPrefix: string;
  values: EnvelopeSettings;
}

export interface VerifyDeps {
  redis: BulkRedis;
  kask: KaskApi;
  /** The repair stores (needed with `repair`). */
  stores: DualStores | null;
}

export interface VerifyResult extends WalkTally {
  checked: number;
  sampled: boolean;
  verdicts: Record<Verdict, number>;
  /** Differences fixed by --repair (they count as match in `verdicts`). */
  repaired: number;
  /** Keys a store failed for (not compared). */
  failed: number;
  examples: Examples;
}

export async function verify(s: VerifySettings, d: VerifyDeps): Promise<VerifyResult> {
  const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  const examples: Examples = {};
  let checked = 0;
  let repaired = 0;
  let failed = 0;
  const compare = async (key: Buffer, redisValue: Buffer | null): Promise<Verdict> => {
    const expected = redisValue === null ? null : redisToEnvelope(redisValue, s.values);
    const want = expected?.ok ? expected.bytes : null;
    const read = await d.kask.get(key);
    const have = read.kind === 'hit' ? read.value : null;
    if (want === null) return have === null ? 'match' : 'missing_in_redis';
    if (have === null) return 'missing_in_kask';
    return have.equals(want) ? 'match' : 'different';
  };
  const tally = await walkKeyspace(
    d.redis,
    { patterns: s.patterns, sample: s.sample, keyPrefix: s.keyPrefix, progress: s.progress },
    async (keys, reads) => {
      await forEachLimited(
        keys.map((_, i) => i),
        () => s.concurrency,
        async (i) => {
          const key = keys[i]!;
          checked++;
          try {
            let verdict = await retried(() => compare(key, reads[i]!.value));
            // A writer may have moved the key between the two reads: look again before calling it a difference.
            if (verdict !== 'match')
              verdict = await retried(async () => compare(key, await d.redis.store.get(key)));
            if (
              verdict !== 'match' &&
              s.repair &&
              d.stores &&
              (await repairKask(d.stores, key)).kind === 'repaired'
            ) {
              verdict = await retried(async () => compare(key, await d.redis.store.get(key)));
              if (verdict === 'match') repaired++;
            }
            verdicts[verdict]++;
            if (verdict !== 'match') addExample(examples, verdict, key);
          } catch {
            failed++;
            addExample(examples, 'failed', key);
          }
        },
      );
    },
  );
  return {
    ...tally,
    checked,
    sampled: s.sample > 0 && s.sample < tally.dataKeys,
    verdicts,
    repaired,
    failed,
    examples,
  };
}

export function verifyReportJson(r: VerifyResult): Record<string, unknown> {
  return {
    keys_per_pattern: r.keysPerPattern,
    data_keys: r.dataKeys,
    checked: r.checked,
    sampled: r.sampled,
    ...r.verdicts,
    repaired: r.repaired,
    failed: r.failed,
    examples: r.examples,
  };
}

export function verifyReportText(r: VerifyResult): string {
  const lines = [
    `verify: ${r.checked} keys checked${r.sampled ? ` (a random sample of ${r.dataKeys})` : ''}`,
    ...VERDICTS.map((v) => `  ${v.padEnd(17)} ${r.verdicts[v]}`),
    `  ${'failed'.padEnd(17)} ${r.failed}${r.failed > 0 ? ' (a store did not answer; not compared)' : ''}`,
  ];
  if (r.repaired > 0) lines.push(`  ${'repaired'.padEnd(17)} ${r.repaired} (counted as match above)`);
  for (const [kind, keys] of Object.entries(r.examples))
    if (keys.length > 0) lines.push(`  example ${kind} keys: ${keys.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Differences left, or keys not compared: verify then exits non-zero. */
export function verifyClean(r: VerifyResult): boolean {
  return r.failed === 0 && VERDICTS.every((v) => v === 'match' || r.verdicts[v] === 0);
}

/** A comparison retried twice after a store failure (a busy Kask timing out once is not a difference). */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(200 * attempt);
    }
  }
}
