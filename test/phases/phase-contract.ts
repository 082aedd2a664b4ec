// The phase contract: what each phase promises for GET, POST and DELETE (docs/protocol.md, "The rule" and "The
// phase ladder"), as one suite run against every phase as src/phases/build.ts builds it, in memory. Redis and Kask
// are fakes (test/support/fakes/) whose calls the tests journal and interfere with, background work (backfills,
// shadow reads) runs when a test lets it, and the clock is fake. What differs between phases is stated once, in
// PHASE_PROMISES, from the protocol's table; every test derives its expectations from it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelopeToRedis, redisToEnvelope } from '../../src/codec/convert.js';
import { loadConfig } from '../../src/config/load.js';
import type { PhaseName } from '../../src/config/schema.js';
import { buildPhase } from '../../src/phases/build.js';
import { MISS, type Phase, READ_ERROR, WRITE_ERROR, WRITE_OK } from '../../src/phases/phase.js';
import { FakeKask, FakeRedis, kaskTimedOut, redisRefused, redisTimedOut } from '../support/fakes/backends.js';
import { HeldBackground, RecordingObserver, RecordingRepairs } from '../support/fakes/phase-parts.js';

export interface PhasePromise {
  phase: PhaseName;
  /** Where a GET is answered from while both stores answer. */
  reads: 'redis' | 'kask, then redis' | 'kask';
  /** Where a GET goes when the store it reads first fails (null: it answers Kask's 500). */
  failover: 'kask' | 'redis' | null;
  /** Writes and deletes go to Redis first, the authority, and are acknowledged only once Redis took them. */
  writesRedis: boolean;
  /** Kask is converged to Redis after each of its mutations; what is left, or may still land, is queued for repair. */
  converges: boolean;
}

/** docs/protocol.md's ladder table. */
export const PHASE_PROMISES: readonly PhasePromise[] = [
  { phase: 'dual-write', reads: 'redis', failover: 'kask', writesRedis: true, converges: true },
  { phase: 'migration', reads: 'kask, then redis', failover: 'redis', writesRedis: true, converges: true },
  { phase: 'kask-primary', reads: 'kask', failover: null, writesRedis: true, converges: true },
  { phase: 'redis-shadow', reads: 'kask', failover: null, writesRedis: true, converges: false },
  { phase: 'kask-only', reads: 'kask', failover: null, writesRedis: false, converges: false },
];

const META = { requestId: 'contract', forward: {} };
const VALUES = { type: 'JSON', hmacKey: null } as const;
const KEY = Buffer.from('global:echo:seen:alert:time:1');
const K = KEY.toString('latin1');

/** What MediaWiki sends (RESTBagOStuff's envelope) and what RedisBagOStuff holds for it. */
const envelope = (ts: string): Buffer => Buffer.from(`JSON.."${ts}"`);
const redisOf = (body: Buffer): Buffer => {
  const converted = envelopeToRedis(body, VALUES);
  if (!converted.ok) throw new Error('every body has a Redis form');
  return converted.bytes;
};
const envelopeOf = (stored: Buffer): Buffer => {
  const converted = redisToEnvelope(stored, VALUES);
  if (!converted.ok) throw new Error(`no REST form: ${converted.reason}`);
  return converted.bytes;
};
const hit = (value: Buffer) => ({ kind: 'hit', value });

/** A value RedisBagOStuff wrote before the migration (an int, stored as its digits). */
const LEGACY = Buffer.from('20200101000000');
/** A value only Kask holds, different from anything in Redis. */
const IN_KASK = envelope('20210101000000');
/** What the client writes, and what another client writes meanwhile. */
const WRITTEN = envelope('20261125112233');
const OTHER = envelope('20261125112299');

/** One phase built as the sidecar builds it, over fakes; Redis is opened only if the phase asks for it. */
async function rig(phase: PhaseName, overrides: Record<string, string> = {}) {
  const config = loadConfig(null, { 'migration.shadow_sample_rate': '0', ...overrides }, {});
  const journal: string[] = [];
  const redis = new FakeRedis(journal);
  const kask = new FakeKask(journal);
  const repairs = new RecordingRepairs();
  const observer = new RecordingObserver();
  const background = new HeldBackground();
  let redisOpened = false;
  const built: Phase = await buildPhase(phase, {
    config,
    kask,
    redis: async () => {
      redisOpened = true;
      return redis;
    },
    observer,
    repairs,
    background,
    now: () => Date.now(),
  });
  return {
    phase: built,
    config,
    journal,
    redis,
    kask,
    repairs,
    observer,
    background,
    redisOpened: () => redisOpened,
  };
}

type Rig = Awaited<ReturnType<typeof rig>>;

/** A write or a delete, and what the stores hold once it is acknowledged. */
interface Mutation {
  op: 'set' | 'delete';
  run: (r: Rig) => Promise<unknown>;
  /** Kask's value afterwards (null: absent), and Redis's. */
  kask: Buffer | null;
  redis: Buffer | null;
  /** What a GET answers afterwards, whichever store the phase reads. */
  read: unknown;
  kaskFailure: 'kask_write_failed' | 'kask_delete_failed';
}

const MUTATIONS: readonly Mutation[] = [
  {
    op: 'set',
    run: (r) => r.phase.set(KEY, WRITTEN, META),
    kask: WRITTEN,
    redis: redisOf(WRITTEN),
    read: hit(WRITTEN),
    kaskFailure: 'kask_write_failed',
  },
  {
    op: 'delete',
    run: (r) => r.phase.delete(KEY, META),
    kask: null,
    redis: null,
    read: MISS,
    kaskFailure: 'kask_delete_failed',
  },
];

export function phaseContract(p: PhasePromise): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('GET', () => {
    it(`answers from ${p.reads === 'redis' ? 'Redis' : 'Kask'} while both stores answer, reading nothing else`, async () => {
      const r = await rig(p.phase);
      r.redis.data.set(KEY, LEGACY);
      r.kask.data.set(KEY, IN_KASK);
      expect(await r.phase.get(KEY, META)).toEqual(hit(p.reads === 'redis' ? envelopeOf(LEGACY) : IN_KASK));
      expect(r.journal).toEqual([p.reads === 'redis' ? `redis.get ${K}` : `kask.get ${K}`]);
    });

    it(`a key only Redis holds: ${p.reads === 'kask' ? 'a miss' : 'served converted'}${p.reads === 'kask, then redis' ? ' and backfilled' : ''}`, async () => {
      const r = await rig(p.phase);
      r.redis.data.set(KEY, LEGACY);
      expect(await r.phase.get(KEY, META)).toEqual(p.reads === 'kask' ? MISS : hit(envelopeOf(LEGACY)));
      await r.background.runAll();
      expect(r.kask.data.get(KEY)).toEqual(p.reads === 'kask, then redis' ? envelopeOf(LEGACY) : null);
      expect(r.redis.data.get(KEY)).toEqual(LEGACY);
      if (p.reads === 'kask') expect(r.redis.calls()).toEqual([]);
    });

    it(`a key only Kask holds: ${p.reads === 'redis' ? 'a miss (Redis is the authority)' : 'served'}`, async () => {
      const r = await rig(p.phase);
      r.kask.data.set(KEY, IN_KASK);
      expect(await r.phase.get(KEY, META)).toEqual(p.reads === 'redis' ? MISS : hit(IN_KASK));
    });

    it(`when the store read first fails: ${p.failover ? `answered from ${p.failover === 'kask' ? 'Kask' : 'Redis'}, nothing backfilled` : 'an error, Redis not read'}`, async () => {
      const r = await rig(p.phase);
      r.redis.data.set(KEY, LEGACY);
      r.kask.data.set(KEY, IN_KASK);
      if (p.reads === 'redis') r.redis.down('get', redisTimedOut('GET'));
      else r.kask.down('get', kaskTimedOut('get'));
      const answer = await r.phase.get(KEY, META);
      await r.background.runAll();
      if (p.failover === 'kask') expect(answer).toEqual(hit(IN_KASK));
      else if (p.failover === 'redis') expect(answer).toEqual(hit(envelopeOf(LEGACY)));
      else expect(answer).toEqual(READ_ERROR);
      if (p.failover === null) expect(r.redis.calls()).toEqual([]);
      expect(r.kask.calls('set')).toEqual([]);
    });

    it('reports where each answer came from', async () => {
      const r = await rig(p.phase);
      const both = Buffer.from('k:both');
      const redisOnly = Buffer.from('k:redis');
      r.redis.data.set(both, LEGACY);
      r.kask.data.set(both, IN_KASK);
      r.redis.data.set(redisOnly, LEGACY);
      for (const key of [both, redisOnly, Buffer.from('k:neither')]) await r.phase.get(key, META);
      const sources = {
        redis: ['redis', 'redis', 'miss'],
        'kask, then redis': ['kask', 'redis_fallback', 'miss'],
        kask: ['kask', 'miss', 'miss'],
      }[p.reads];
      expect(r.observer.of('read')).toEqual(sources.map((s) => [s]));
    });

    it('never serves a value Redis holds as PHP false, nor copies it', async () => {
      const r = await rig(p.phase);
      r.redis.data.set(KEY, Buffer.from('b:0;'));
      expect(await r.phase.get(KEY, META)).toEqual(MISS);
      await r.background.runAll();
      expect(r.kask.calls('set')).toEqual([]);
    });

    it('never copies a lock key into Kask', async () => {
      const r = await rig(p.phase);
      const lock = Buffer.from(`${K}:lock`);
      r.redis.data.set(lock, LEGACY);
      expect(await r.phase.get(lock, META)).toEqual(p.reads === 'kask' ? MISS : hit(envelopeOf(LEGACY)));
      await r.background.runAll();
      expect(r.kask.data.has(lock)).toBe(false);
    });

    it.runIf(p.reads === 'kask, then redis')(
      'queues the key when a backfill’s Kask write fails',
      async () => {
        const r = await rig(p.phase);
        r.redis.data.set(KEY, LEGACY);
        r.kask.when('set', { error: kaskTimedOut('set') });
        expect(await r.phase.get(KEY, META)).toEqual(hit(envelopeOf(LEGACY)));
        await r.background.runAll();
        expect(r.repairs.reasons(KEY)).toEqual(['backfill_failed']);
        expect(r.observer.of('backfill')).toEqual([['failed']]);
      },
    );

    it('starts no background work once another phase has taken over', async () => {
      const r = await rig(p.phase, { 'migration.shadow_sample_rate': '1' });
      r.redis.data.set(KEY, LEGACY);
      r.phase.retire?.();
      await r.phase.get(KEY, META);
      expect(r.background.held).toBe(0);
    });
  });

  describe.each(MUTATIONS.map((m) => [m.op, m] as const))('%s', (_op, m) => {
    /** The phase over stores that both hold the legacy value, as after the bulk copy. */
    const seeded = async (): Promise<Rig> => {
      const r = await rig(p.phase);
      r.redis.data.set(KEY, LEGACY);
      r.kask.data.set(KEY, envelopeOf(LEGACY));
      return r;
    };

    it(`acknowledged once ${p.writesRedis ? 'Redis, then Kask,' : 'Kask'} took it, and read back so`, async () => {
      const r = await seeded();
      expect(await m.run(r)).toEqual(WRITE_OK);
      expect(r.kask.data.get(KEY)).toEqual(m.kask);
      expect(r.redis.data.get(KEY)).toEqual(p.writesRedis ? m.redis : LEGACY);
      const mutations = r.journal.filter((c) => !c.includes('.get '));
      expect(mutations).toEqual([...(p.writesRedis ? [`redis.${m.op} ${K}`] : []), `kask.${m.op} ${K}`]);
      if (m.op === 'set' && p.writesRedis) expect(r.redis.ttls.get(K)).toBe(r.config.redis.ttlSeconds);
      expect(await r.phase.get(KEY, META)).toEqual(m.read);
    });

    it.runIf(p.writesRedis)(
      'refused by Redis: not acknowledged, Kask untouched, nothing to repair',
      async () => {
        const r = await seeded();
        r.redis.when(m.op, { error: redisRefused(m.op.toUpperCase()) });
        expect(await m.run(r)).toEqual(WRITE_ERROR);
        expect(r.kask.calls()).toEqual([]);
        expect(r.kask.data.get(KEY)).toEqual(envelopeOf(LEGACY));
        expect(r.redis.data.get(KEY)).toEqual(LEGACY);
        expect(r.repairs.recorded).toEqual([]);
      },
    );

    it.runIf(p.writesRedis)(
      `timed out in Redis (it may have landed): not acknowledged, Kask untouched${p.converges ? ', the key queued' : ''}`,
      async () => {
        const r = await seeded();
        r.redis.when(m.op, { error: redisTimedOut(m.op.toUpperCase()), applied: true });
        expect(await m.run(r)).toEqual(WRITE_ERROR);
        expect(r.kask.calls()).toEqual([]);
        expect(r.kask.data.get(KEY)).toEqual(envelopeOf(LEGACY));
        expect(r.repairs.reasons(KEY)).toEqual(p.converges ? ['redis_outcome_unknown'] : []);
      },
    );

    it(`failed in Kask (its outcome unknown): not acknowledged${p.converges ? ', the key queued for repair' : ', nothing queued'}`, async () => {
      const r = await seeded();
      r.kask.when(m.op, { error: kaskTimedOut(m.op) });
      expect(await m.run(r)).toEqual(WRITE_ERROR);
      expect(r.redis.data.get(KEY)).toEqual(p.writesRedis ? m.redis : LEGACY);
      expect(r.repairs.reasons(KEY)).toEqual(p.converges ? [m.kaskFailure] : []);
      expect(r.observer.of('dualWriteFailure')).toEqual(p.writesRedis ? [['kask', m.op]] : []);
    });

    it.runIf(p.writesRedis)(
      p.converges
        ? 'another writer between its Redis and Kask steps: Kask ends matching Redis'
        : 'another writer between its Redis and Kask steps: no Kask write derived from Redis',
      async () => {
        const r = await seeded();
        // The other client's write goes through both stores while ours is on its way to Kask.
        r.kask.when(m.op, {
          before: () => {
            r.redis.data.set(KEY, redisOf(OTHER));
            r.kask.data.set(KEY, OTHER);
          },
        });
        expect(await m.run(r)).toEqual(WRITE_OK);
        if (p.converges) {
          expect(r.kask.data.get(KEY)).toEqual(envelopeOf(redisOf(OTHER)));
          expect(r.observer.of('convergence')).toEqual([['repaired', K]]);
        } else {
          expect(r.kask.data.get(KEY)).toEqual(m.kask);
          expect(r.redis.calls('get')).toEqual([]);
        }
      },
    );

    it.runIf(p.converges)(
      'acknowledged but queued when the request deadline leaves no time to converge',
      async () => {
        const r = await seeded();
        r.kask.when(m.op, {
          before: () => void vi.advanceTimersByTime(r.config.migration.requestDeadlineMs),
        });
        expect(await m.run(r)).toEqual(WRITE_OK);
        expect(r.redis.calls('get')).toEqual([]);
        expect(r.repairs.reasons(KEY)).toEqual(['not_converged']);
      },
    );

    it.runIf(p.converges)('acknowledged but queued when Redis keeps moving for every round', async () => {
      const r = await seeded();
      let n = 0;
      r.redis.when(
        'get',
        { before: () => r.redis.data.set(KEY, Buffer.from(String(20300101000000 + ++n))) },
        { times: Number.POSITIVE_INFINITY },
      );
      expect(await m.run(r)).toEqual(WRITE_OK);
      expect(r.redis.calls('get')).toHaveLength(r.config.migration.convergenceMaxRounds);
      expect(r.repairs.reasons(KEY)).toEqual(['not_converged']);
      expect(r.observer.of('convergence')).toEqual([['gave_up', K]]);
    });

    it('is not undone by a backfill of the older value that was under way', async () => {
      const r = await rig(p.phase);
      r.redis.data.set(KEY, LEGACY);
      await r.phase.get(KEY, META); // where the phase backfills, the backfill is held back
      expect(await m.run(r)).toEqual(WRITE_OK);
      await r.background.runAll(); // the backfill's Kask write lands after the mutation
      expect(r.kask.data.get(KEY)).toEqual(m.kask);
      expect(await r.phase.get(KEY, META)).toEqual(m.read);
    });
  });

  it(p.writesRedis ? 'opens Redis' : 'never opens Redis, so no Redis failure can touch it', async () => {
    const r = await rig(p.phase);
    for (const op of ['get', 'set', 'delete'] as const) r.redis.down(op, redisRefused(op.toUpperCase()));
    r.kask.data.set(KEY, IN_KASK);
    const answers = [
      await r.phase.get(KEY, META),
      await r.phase.set(KEY, WRITTEN, META),
      await r.phase.delete(KEY, META),
    ];
    expect(r.redisOpened()).toBe(p.writesRedis);
    if (!p.writesRedis) {
      expect(answers).toEqual([hit(IN_KASK), WRITE_OK, WRITE_OK]);
      expect(r.redis.calls()).toEqual([]);
    }
  });
}
