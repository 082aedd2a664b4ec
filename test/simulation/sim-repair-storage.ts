// The repair queue's storage, simulated at the level the queue talks to it: GuardedRedis.command() hands an
// ioredis-like client to a callback that calls zscore, zrangeBuffer, hmget or eval. Each known Lua script
// (src/resilience/repair-scripts.ts) is re-implemented here in TS and recognised by its text; a script whose text
// changed, or an unknown one, throws, so a changed script cannot pass against stale semantics. Kept apart from
// sim-redis.ts so it can be swapped when the queue's storage interface changes.
import { createHash } from 'node:crypto';
import {
  COMPARE_AND_SET_SCRIPT,
  COMPLETE_SCRIPT,
  DEPTH_SCRIPT,
  PRESENT_SCRIPT,
  RECORD_SCRIPT,
} from '../../src/resilience/repair-scripts.js';
import { type Caller, keyName, type SimRedis, show } from './sim-redis.js';

type Arg = Buffer | string | number;

/** SHA-1 of each script's text when its TS twin below was written. */
const PINNED: Record<string, string> = {
  RECORD_SCRIPT: 'd59f658830babfa2b8ee60a9a4db8d29e6583d9a',
  COMPLETE_SCRIPT: 'e336346343b6159ab55199749cffffcf3ea4dcd8',
  DEPTH_SCRIPT: 'c99db52a54085ecb292b41360ad08ca19f662e3f',
  PRESENT_SCRIPT: '013701da9d49a6c3b0d6677d9bced0358e3fb5da',
  COMPARE_AND_SET_SCRIPT: '8a9f335ba2e597193b534230a1cc81b07321685f',
};

const str = (a: Arg | undefined): string =>
  a === undefined ? '' : Buffer.isBuffer(a) ? a.toString('latin1') : String(a);

interface Script {
  name: string;
  /** Writes a data key (refusals apply); the key is KEYS[1]. */
  writesData: boolean;
  run(redis: SimRedis, keys: string[], argv: string[]): unknown;
}

const SCRIPTS: Array<[string, Script]> = [
  [
    RECORD_SCRIPT,
    {
      name: 'RECORD_SCRIPT',
      writesData: false,
      run(redis, [queueName, genName], argv) {
        const queue = zset(redis, queueName!);
        const gens = hash(redis, genName!);
        const max = Number(argv[0]);
        const refused: number[] = [];
        for (let i = 1; i < argv.length; i += 3) {
          const member = argv[i + 2]!;
          const known = queue.has(member);
          if (known || queue.size < max) {
            if (!known) queue.set(member, Number(argv[i]));
            const generation = gens.get(member);
            const times = generation ? Number(/:(\d+)$/.exec(generation)![1]) + 1 : 1;
            gens.set(member, `${argv[i + 1]}:${times}`);
          } else refused.push((i + 2) / 3);
        }
        return refused;
      },
    },
  ],
  [
    COMPLETE_SCRIPT,
    {
      name: 'COMPLETE_SCRIPT',
      writesData: false,
      run(redis, [queueName, genName], [member, generation]) {
        const gens = hash(redis, genName!);
        if ((gens.get(member!) ?? '') !== generation) return 0;
        zset(redis, queueName!).delete(member!);
        gens.delete(member!);
        return 1;
      },
    },
  ],
  [
    DEPTH_SCRIPT,
    {
      name: 'DEPTH_SCRIPT',
      writesData: false,
      run: (redis, [a, b]) => [zset(redis, a!).size, zset(redis, b!).size],
    },
  ],
  [
    PRESENT_SCRIPT,
    {
      name: 'PRESENT_SCRIPT',
      writesData: false,
      run(redis, [queueName], argv) {
        const queue = zset(redis, queueName!);
        const present: number[] = [];
        argv.forEach((member, i) => {
          if (queue.has(member)) present.push(i + 1);
        });
        return present;
      },
    },
  ],
  [
    COMPARE_AND_SET_SCRIPT,
    {
      name: 'COMPARE_AND_SET_SCRIPT',
      writesData: true,
      run(redis, [key], [expect, expected, action, value]) {
        const current = redis.data.get(key!);
        if (expect === 'absent' ? current !== undefined : current?.toString('latin1') !== expected) return 0;
        if (action === 'delete') redis.data.delete(key!);
        else redis.data.set(key!, Buffer.from(value!, 'latin1'));
        return 1;
      },
    },
  ],
];

const BY_TEXT = new Map(SCRIPTS);

/** Throws unless every script's text is the one its TS twin was written for. */
export function checkPinnedScripts(): void {
  for (const [text, script] of SCRIPTS) {
    const sha = createHash('sha1').update(text).digest('hex');
    if (PINNED[script.name] !== sha)
      throw new Error(
        `${script.name} changed (sha1 ${sha}): update its simulation in test/simulation/sim-repair-storage.ts`,
      );
  }
}

function zset(redis: SimRedis, name: string): Map<string, number> {
  const set = redis.zsets.get(name) ?? new Map<string, number>();
  redis.zsets.set(name, set);
  return set;
}

function hash(redis: SimRedis, name: string): Map<string, string> {
  const h = redis.hashes.get(name) ?? new Map<string, string>();
  redis.hashes.set(name, h);
  return h;
}

/** Members by score, then by bytes (as Redis orders equal scores). */
export function sortedMembers(set: Map<string, number>): Array<[string, number]> {
  return [...set.entries()].sort(([ma, sa], [mb, sb]) => sa - sb || (ma < mb ? -1 : ma > mb ? 1 : 0));
}

/** The ioredis-like client one sidecar's GuardedRedis.command() passes to its callbacks. */
export function repairStorageClient(redis: SimRedis, caller: Caller) {
  return strict({
    zscore: (queue: Arg, member: Arg): Promise<string | null> =>
      redis.call({
        caller,
        label: `ZSCORE ${str(queue)} ${str(member)}`,
        key: null,
        write: false,
        apply: () => {
          const score = redis.zsets.get(str(queue))?.get(str(member));
          return score === undefined ? null : String(score);
        },
      }),
    zrangeBuffer: (queue: Arg, start: number, stop: number, withScores: 'WITHSCORES'): Promise<Buffer[]> => {
      if (withScores !== 'WITHSCORES') throw new Error('simulated ZRANGE supports WITHSCORES only');
      return redis.call({
        caller,
        label: `ZRANGE ${str(queue)} ${start} ${stop}`,
        quiet: true,
        key: null,
        write: false,
        apply: () => {
          const all = sortedMembers(redis.zsets.get(str(queue)) ?? new Map());
          const end = stop < 0 ? all.length + stop : stop;
          return all
            .slice(start, end + 1)
            .flatMap(([m, s]) => [Buffer.from(m, 'latin1'), Buffer.from(String(s))]);
        },
      });
    },
    hmget: (name: Arg, ...members: Arg[]): Promise<Array<string | null>> =>
      redis.call({
        caller,
        label: `HMGET ${str(name)} (${members.length})`,
        quiet: true,
        key: null,
        write: false,
        apply: () => members.map((m) => redis.hashes.get(str(name))?.get(str(m)) ?? null),
      }),
    eval: (text: string, numKeys: number, ...args: Arg[]): Promise<unknown> => {
      const script = BY_TEXT.get(text);
      if (!script) throw new Error(`unknown Lua script for the simulated Redis: ${text.slice(0, 60)}`);
      const keys = args.slice(0, numKeys).map(str);
      const argv = args.slice(numKeys).map(str);
      const dataKey = script.writesData ? keys[0]! : null;
      const detail = script.writesData
        ? ` ${dataKey} ${argv[0]}→${argv[2] === 'delete' ? 'delete' : show(Buffer.from(argv[3] ?? '', 'latin1'))}`
        : script.name === 'DEPTH_SCRIPT'
          ? ''
          : ` ${argv.filter((a) => !/^\d+(:\d+)?$/.test(a)).join(' ')}`;
      return redis.call({
        caller,
        label: `EVAL ${script.name.replace('_SCRIPT', '')}${detail}`,
        key: dataKey,
        write: script.writesData,
        quiet: script.name === 'DEPTH_SCRIPT',
        apply: () => script.run(redis, keys, argv),
      });
    },
  });
}

/** Any other client method throws, naming what to simulate (a changed caller cannot silently get `undefined`). */
function strict<T extends object>(client: T): T {
  return new Proxy(client, {
    get(target, name, receiver) {
      if (typeof name === 'symbol' || name in target || name === 'then')
        return Reflect.get(target, name, receiver);
      return () => {
        throw new Error(
          `the simulated Redis has no ${String(name)}(): add it to test/simulation/sim-repair-storage.ts`,
        );
      };
    },
  });
}

/** Keys waiting in any repair queue (every sorted set is a queue). */
export function queuedKeys(redis: SimRedis): Array<{ queue: string; key: string; generation: string }> {
  const out: Array<{ queue: string; key: string; generation: string }> = [];
  for (const [queue, set] of redis.zsets)
    for (const key of set.keys())
      out.push({ queue, key, generation: redis.hashes.get(`${queue}:gen`)?.get(key) ?? '' });
  return out;
}

export { keyName };
