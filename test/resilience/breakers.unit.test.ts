// The per-backend circuit breakers, in process: what counts as a failure, how an open breaker fails (typed, at
// once), and that every transition is logged with ECS fields and exported as kmp_breaker_state. Time is fake: the
// reset timeout passes when the test moves the clock, and "at once" means before any timer could fire.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { BackendError } from '../../src/kask/client.js';
import { createLogger } from '../../src/ops/logging.js';
import { Metrics } from '../../src/ops/metrics.js';
import { RedisError } from '../../src/redis/store.js';
import { type Breakers, createBreakers } from '../../src/resilience/breakers.js';
import { GuardedKask } from '../../src/resilience/guarded-backends.js';

function setup(): { breakers: Breakers; metrics: Metrics; lines: Array<Record<string, unknown>> } {
  const config = loadConfig(
    null,
    {
      'breakers.kask.volume_threshold': '4',
      'breakers.kask.reset_timeout_ms': '150',
      'breakers.redis.volume_threshold': '4',
      'breakers.redis.reset_timeout_ms': '150',
    },
    {},
  );
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const metrics = new Metrics({ processMetrics: false });
  return { breakers: createBreakers(config, metrics, logger), metrics, lines };
}

async function gauge(metrics: Metrics, backend: string): Promise<number | undefined> {
  const m = await metrics.breakerState.get();
  return m.values.find((v) => v.labels.backend === backend)?.value;
}

/** The breakers' timers and clock (opossum's reset timeout, rolling window); setImmediate stays real. */
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** How `call` settles if it settles before any timer fires (the fake clock stands still), else 'waiting'. */
function atOnce<T>(call: Promise<T>): Promise<PromiseSettledResult<T> | 'waiting'> {
  const settled = Promise.allSettled([call]).then(([outcome]) => outcome!);
  return Promise.race([settled, new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting')))]);
}

const failing = (code: 'KASK_TIMEOUT' | 'KASK_UNAVAILABLE') => () =>
  Promise.reject(new BackendError(code, 'down'));

describe('circuit breakers', () => {
  it('does not count Kask misses or 4xx answers as failures', async () => {
    const { breakers } = setup();
    const kask = new GuardedKask(
      {
        get: async () => ({ kind: 'miss' }),
        set: () => Promise.reject(new BackendError('KASK_STATUS', 'bad request', 400)),
        delete: async () => {},
      },
      breakers.kask,
    );
    for (let i = 0; i < 20; i++) {
      expect(await kask.get(Buffer.from('k'))).toEqual({ kind: 'miss' });
      await expect(kask.set(Buffer.from('k'), Buffer.from('v'))).rejects.toMatchObject({
        code: 'KASK_STATUS',
      });
    }
    expect(breakers.kask.state).toBe('closed');
    breakers.shutdown();
  });

  it("arms no timer per call: the clients' own deadlines end every call (a timer each was half the breaker's cost)", async () => {
    const { breakers } = setup();
    const before = vi.getTimerCount();
    const pending = [
      breakers.kask.run(() => new Promise(() => {})),
      breakers.redis.run(() => new Promise(() => {})),
    ];
    expect(vi.getTimerCount()).toBe(before);
    expect(await atOnce(pending[0]!)).toBe('waiting');
    breakers.shutdown();
  });

  it('opens on failures, then fails fast with KASK_OPEN without calling Kask', async () => {
    const { breakers, metrics, lines } = setup();
    for (let i = 0; i < 4; i++)
      await expect(breakers.kask.run(failing('KASK_TIMEOUT'))).rejects.toMatchObject({
        code: 'KASK_TIMEOUT',
      });
    expect(breakers.kask.state).toBe('open');
    expect(await gauge(metrics, 'kask')).toBe(2);
    let called = false;
    const refused = await atOnce(
      breakers.kask.run(async () => {
        called = true;
      }),
    );
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: { name: 'BackendError', code: 'KASK_OPEN' },
    });
    expect(called).toBe(false);
    expect(lines).toContainEqual(
      expect.objectContaining({
        'log.level': 'warn',
        'event.action': 'breaker',
        'kmp.backend': 'kask',
        'kmp.breaker.state': 'open',
      }),
    );
    breakers.shutdown();
  });

  it('half-opens after the reset timeout and closes on a successful trial call', async () => {
    const { breakers, metrics, lines } = setup();
    for (let i = 0; i < 4; i++)
      await breakers.redis.run(() => Promise.reject(new RedisError('REDIS_TIMEOUT', 't'))).catch(() => {});
    expect(breakers.redis.state).toBe('open');
    await vi.advanceTimersByTimeAsync(149);
    expect(breakers.redis.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1); // reset_timeout_ms
    expect(breakers.redis.state).toBe('half_open');
    expect(await gauge(metrics, 'redis')).toBe(1);
    expect(await breakers.redis.run(async () => 'pong')).toBe('pong');
    expect(breakers.redis.state).toBe('closed');
    expect(await gauge(metrics, 'redis')).toBe(0);
    expect(lines.map((l) => l['kmp.breaker.state'])).toEqual(['open', 'half_open', 'closed']);
    expect(breakers.states()).toEqual([
      { backend: 'kask', state: 'closed' },
      { backend: 'redis', state: 'closed' },
    ]);
    breakers.shutdown();
  });

  it('re-opens when the trial call fails, and refuses Redis calls with REDIS_OPEN', async () => {
    const { breakers } = setup();
    const down = () => Promise.reject(new RedisError('REDIS_UNAVAILABLE', 'refused'));
    for (let i = 0; i < 4; i++) await breakers.redis.run(down).catch(() => {});
    await vi.advanceTimersByTimeAsync(150); // reset_timeout_ms
    expect(breakers.redis.state).toBe('half_open');
    await expect(breakers.redis.run(down)).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    expect(breakers.redis.state).toBe('open');
    expect(await atOnce(breakers.redis.run(async () => 1))).toMatchObject({
      status: 'rejected',
      reason: { name: 'RedisError', code: 'REDIS_OPEN' },
    });
    breakers.shutdown();
  });

  it('Redis error replies (WRONGTYPE, …) are answers, not failures', async () => {
    const { breakers } = setup();
    for (let i = 0; i < 10; i++)
      await breakers.redis
        .run(() => Promise.reject(new RedisError('REDIS_REPLY', 'WRONGTYPE')))
        .catch(() => {});
    expect(breakers.redis.state).toBe('closed');
    breakers.shutdown();
  });

  it('gives body-read failures Kask codes, so callers can branch on them', async () => {
    const { breakers } = setup();
    const timeout = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
    const kask = new GuardedKask(
      {
        get: () => Promise.reject(timeout),
        set: () => Promise.reject(new Error('socket hang up')),
        delete: async () => {},
      },
      breakers.kask,
    );
    await expect(kask.get(Buffer.from('k'))).rejects.toMatchObject({ code: 'KASK_TIMEOUT' });
    await expect(kask.set(Buffer.from('k'), Buffer.from('v'))).rejects.toMatchObject({
      code: 'KASK_UNAVAILABLE',
    });
    breakers.shutdown();
  });
});
