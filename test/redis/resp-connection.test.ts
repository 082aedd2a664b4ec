// The lean data-path connection against a real redis-server (bytes, TTLs, error replies, AUTH, SELECT, restarts)
// and against scripted servers on loopback for what a real one will not do on cue: never answer, answer late,
// drop the connection mid-command, send garbage.
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, startLocalRedis } from '../../src/redis/local-server.js';
import { RECONNECT_MAX_DELAY_MS } from '../../src/redis/reconnect.js';
import {
  RespCommandError,
  RespConnection,
  type RespConnectionOptions,
  respSettingsFromUrl,
} from '../../src/redis/resp-connection.js';
import { RedisError, RedisStore } from '../../src/redis/store.js';
import { waitFor } from '../support/wait.js';

let server: LocalRedis;
let admin: Redis;
const open: RespConnection[] = [];

beforeAll(async () => {
  server = await startLocalRedis();
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

function connection(
  url: string,
  timeouts = { connectTimeoutMs: 300, commandTimeoutMs: 150 },
): RespConnection {
  const settings = respSettingsFromUrl(url, timeouts);
  if (settings === null) throw new Error(`not a lean URL: ${url}`);
  const c = new RespConnection(settings);
  open.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<RespCommandError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RespCommandError);
  return err as RespCommandError;
}

describe('RespConnection against redis-server', () => {
  it('GET, SET, SETEX and DEL carry any bytes and the TTL as RedisBagOStuff writes them', async () => {
    const c = connection(server.url);
    expect(await c.connect()).toBe(true);
    const key = Buffer.from([0, 13, 10, 0xff, 0x24, 0x2a, 0x20]);
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(await c.get(key)).toBeNull();
    await c.set(key, value, 0);
    expect(await c.get(key)).toEqual(value);
    expect(await admin.pttl(key)).toBe(-1);
    await c.set(key, Buffer.alloc(0), 120);
    expect(await c.get(key)).toEqual(Buffer.alloc(0));
    expect(await admin.ttl(key)).toBeGreaterThan(100);
    await c.del(key);
    expect(await admin.exists(key)).toBe(0);
    await c.del(key); // deleting what is gone is fine
  });

  it('MGET answers one value per key, null for a missing key or one holding something else', async () => {
    const c = connection(server.url);
    await c.connect();
    await admin.set('kmp:test:m1', 'one');
    await admin.hset('kmp:test:mhash', 'f', 'v');
    const got = await c.mget(
      ['kmp:test:m1', 'kmp:test:missing', 'kmp:test:mhash'].map((k) => Buffer.from(k)),
    );
    expect(got).toEqual([Buffer.from('one'), null, null]);
  });

  it('keeps replies in step when many commands are in flight at once', async () => {
    const c = connection(server.url);
    await c.connect();
    const keys = Array.from({ length: 500 }, (_, i) => Buffer.from(`kmp:test:step:${i}`));
    await Promise.all(keys.map((k, i) => c.set(k, Buffer.from(`v${i}`), 60)));
    const got = await Promise.all(keys.map((k) => c.get(k)));
    expect(got.map((v) => v?.toString())).toEqual(keys.map((_, i) => `v${i}`));
  });

  it('sends the first command of a turn at once and the rest of that turn together, in one write', async () => {
    const c = connection(server.url);
    await c.connect();
    const writes: number[] = [];
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => void>;
    const [write, writev] = [proto._write, proto._writev];
    proto._write = function (this: Socket, ...a: unknown[]) {
      writes.push(1);
      return write.apply(this, a);
    };
    proto._writev = function (this: Socket, chunks: unknown, ...a: unknown[]) {
      writes.push((chunks as unknown[]).length);
      return writev.apply(this, [chunks, ...a]);
    };
    try {
      const keys = Array.from({ length: 10 }, (_, i) => Buffer.from(`kmp:test:turn:${i}`));
      const got = await Promise.all(keys.map((k) => c.get(k)));
      expect(got).toEqual(keys.map(() => null));
    } finally {
      proto._write = write;
      proto._writev = writev;
    }
    expect(writes).toEqual([1, 9]);
  });

  it('an error reply fails that command only, as a reply; the connection goes on', async () => {
    const c = connection(server.url);
    await c.connect();
    await admin.hset('kmp:test:hash', 'f', 'v');
    const err = await failure(c.get(Buffer.from('kmp:test:hash')));
    expect(err.kind).toBe('reply');
    expect(err.message).toMatch(/^WRONGTYPE/);
    await c.set(Buffer.from('kmp:test:after'), Buffer.from('ok'), 60);
    expect((await c.get(Buffer.from('kmp:test:after')))?.toString()).toBe('ok');
  });

  it('selects the database the URL names', async () => {
    const c = connection(`${server.url}/3`);
    await c.connect();
    await c.set(Buffer.from('kmp:test:db'), Buffer.from('three'), 60);
    const db3 = new Redis(`${server.url}/3`);
    try {
      expect(await db3.get('kmp:test:db')).toBe('three');
      expect(await admin.get('kmp:test:db')).toBeNull();
    } finally {
      db3.disconnect();
    }
  });

  it('authenticates as an ACL user; a wrong password never becomes ready and sends no command', async () => {
    await admin.call('ACL', 'SETUSER', 'kmp', 'on', '>s3cr%t', '~*', '+@all');
    try {
      const good = connection(`redis://kmp:${encodeURIComponent('s3cr%t')}@127.0.0.1:${server.port}`);
      expect(await good.connect()).toBe(true);
      await good.set(Buffer.from('kmp:test:acl'), Buffer.from('yes'), 60);
      expect(await admin.get('kmp:test:acl')).toBe('yes');

      const bad = connection(`redis://kmp:wrong@127.0.0.1:${server.port}`);
      expect(await bad.connect()).toBe(false);
      expect(bad.ready).toBe(false);
      const err = await failure(bad.get(Buffer.from('kmp:test:acl')));
      expect(err.kind).toBe('connection');
      expect(err.sent).toBe(false);
    } finally {
      await admin.call('ACL', 'DELUSER', 'kmp');
    }
  });

  it('a password for a Redis that has none is not a refusal (as ioredis): ready, and commands work', async () => {
    const c = connection(`redis://:unneeded@127.0.0.1:${server.port}`);
    expect(await c.connect()).toBe(true);
    await c.set(Buffer.from('kmp:test:nopass'), Buffer.from('yes'), 60);
    expect(await admin.get('kmp:test:nopass')).toBe('yes');
  });

  it('a user named without a password authenticates as that user (AUTH user ""), as ioredis does', async () => {
    await admin.call('ACL', 'SETUSER', 'kmp-nopass', 'on', 'nopass', '~kmp:test:*', '+@all');
    try {
      const c = connection(`redis://kmp-nopass@127.0.0.1:${server.port}`);
      expect(await c.connect()).toBe(true);
      await c.set(Buffer.from('kmp:test:as-user'), Buffer.from('yes'), 60);
      // The user may only touch kmp:test:*: a NOPERM for another key proves the connection runs as that user.
      const err = await failure(c.get(Buffer.from('elsewhere')));
      expect(err.message).toMatch(/^NOPERM/);
    } finally {
      await admin.call('ACL', 'DELUSER', 'kmp-nopass');
    }
  });

  it('fails fast while Redis is down (never sent) and is back by itself when Redis is', async () => {
    const own = await startLocalRedis();
    try {
      const c = connection(own.url);
      await c.connect();
      await own.kill();
      await waitFor(() => !c.ready, 2_000, 'the connection to notice Redis is gone');
      await waitFor(() => /ECONNREFUSED/.test(c.status), 2_000, 'a reconnect attempt to be refused');
      const started = performance.now();
      const err = await failure(c.get(Buffer.from('k')));
      expect(err.kind).toBe('connection');
      expect(err.sent).toBe(false);
      expect(performance.now() - started).toBeLessThan(50);
      await own.restart();
      await waitFor(() => c.ready, 5_000, 'the connection to come back');
      expect(c.status).toBe('ready');
      await c.set(Buffer.from('k'), Buffer.from('back'), 60);
      expect((await c.get(Buffer.from('k')))?.toString()).toBe('back');
    } finally {
      await own.stop();
    }
  });

  it('is used again within its backoff cap once a stalled Redis answers, however long the stall lasted', async () => {
    const own = await startLocalRedis();
    const pauser = new Redis(own.url);
    try {
      const c = connection(own.url, { connectTimeoutMs: 200, commandTimeoutMs: 150 });
      await c.connect();
      // Long enough for many handshakes to time out: an uncapped backoff would have grown past the stall's end.
      await pauser.call('CLIENT', 'PAUSE', '5000', 'ALL');
      const stallEnds = performance.now() + 5_000;
      expect((await failure(c.get(Buffer.from('k')))).kind).toBe('timeout');
      await waitFor(() => c.ready, 8_000, 'the connection to come back', 10);
      expect(performance.now() - stallEnds).toBeLessThan(RECONNECT_MAX_DELAY_MS + 400);
    } finally {
      pauser.disconnect();
      await own.stop();
    }
  });
});

/** A loopback server that reads commands and does with each connection what the test says. */
async function scripted(onConnection: (socket: Socket) => void): Promise<{ url: string; server: Server }> {
  const srv = createServer((socket) => {
    socket.on('error', () => {}); // the client resets connections it gives up on
    onConnection(socket);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { url: `redis://127.0.0.1:${(srv.address() as AddressInfo).port}`, server: srv };
}

describe('RespConnection against scripted servers', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });
  const script = async (fn: (socket: Socket) => void) => {
    const s = await scripted(fn);
    servers.push(s.server);
    return s.url;
  };
  /** A scripted server that answers the handshake's PING itself and hands every other command to `onCommand`, with
   * the number of its connection (1 for the first). */
  const redisLike = async (onCommand: (socket: Socket, connection: number) => void) => {
    let connections = 0;
    const url = await script((socket) => {
      const n = ++connections;
      socket.on('data', (d) => {
        if (d.toString('latin1').includes('PING')) socket.write('+PONG\r\n');
        else onCommand(socket, n);
      });
    });
    return { url, connections: () => connections };
  };

  it('a command with no answer fails as a timeout, no earlier than its deadline and within a slot of it', async () => {
    const { url } = await redisLike(() => {}); // answers the handshake, never a command
    const c = connection(url, { connectTimeoutMs: 300, commandTimeoutMs: 100 });
    await c.connect();
    const started = performance.now();
    const err = await failure(c.get(Buffer.from('k')));
    const took = performance.now() - started;
    expect(err.kind).toBe('timeout');
    expect(err.sent).toBe(true);
    expect(took).toBeGreaterThanOrEqual(100);
    expect(took).toBeLessThan(100 + 25 + 100); // one slot, plus a busy machine's timer lag
  });

  it('a command past its deadline fails as a timeout and resets its connection; the next goes on a fresh one', async () => {
    const resets: string[] = [];
    const server = await redisLike((socket, n) => {
      socket.on('error', (err: NodeJS.ErrnoException) => resets.push(`${n}:${err.code}`));
      if (n > 1) socket.write('$6\r\nsecond\r\n'); // the first connection never answers a GET
    });
    const url = server.url;
    const c = connection(url, { connectTimeoutMs: 300, commandTimeoutMs: 60 });
    await c.connect();
    const err = await failure(c.get(Buffer.from('a')));
    expect(err.kind).toBe('timeout');
    expect(c.ready).toBe(false); // given up at once: nothing more is written to it
    await waitFor(() => resets.length > 0, 2_000, 'the reset to reach the server');
    expect(resets[0]).toBe('1:ECONNRESET'); // reset, not closed: unsent bytes are discarded, never delivered late
    await waitFor(() => c.ready, 2_000, 'the reconnect');
    expect((await c.get(Buffer.from('b')))?.toString()).toBe('second');
    expect(server.connections()).toBe(2);
  });

  it('a connection lost with commands in flight fails them as sent (outcome unknown), then reconnects', async () => {
    const server = await redisLike((socket, n) => (n === 1 ? socket.destroy() : socket.write('+OK\r\n')));
    const c = connection(server.url);
    await c.connect();
    const err = await failure(c.set(Buffer.from('k'), Buffer.from('v'), 0));
    expect(err.kind).toBe('connection');
    expect(err.sent).toBe(true);
    await waitFor(() => c.ready, 2_000, 'the reconnect');
    await c.set(Buffer.from('k'), Buffer.from('v'), 0);
    expect(server.connections()).toBe(2);
  });

  it('garbage from the server closes the connection and fails what waited; nothing is misread', async () => {
    const server = await redisLike((socket, n) => socket.write(n === 1 ? '%2\r\n' : '$2\r\nok\r\n'));
    const c = connection(server.url);
    await c.connect();
    const err = await failure(c.get(Buffer.from('k')));
    expect(err.kind).toBe('connection');
    await waitFor(() => c.ready, 2_000, 'the reconnect');
    expect((await c.get(Buffer.from('k')))?.toString()).toBe('ok');
  });

  it.each([
    ['has too many clients', '-ERR max number of clients reached\r\n'],
    ['is loading its dataset', '-LOADING Redis is loading the dataset in memory\r\n'],
  ])('a server that accepts but %s is never ready, and is backed off from', async (_, refusal) => {
    let sockets = 0;
    const url = await script((socket) => {
      sockets++;
      socket.on('data', () => socket.write(refusal));
    });
    const c = connection(url);
    expect(await c.connect()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(c.ready).toBe(false);
    expect(c.status).toContain(`(last: ${refusal.slice(1, -2)})`); // what /readyz shows an operator
    // 50, 100, 200, 400 ms… between attempts: a handful in a second, not one every 50 ms.
    expect(sockets).toBeGreaterThanOrEqual(2);
    expect(sockets).toBeLessThanOrEqual(6);
  });

  it('connect() twice: both settle; close() settles a waiting connect() and a later one answers false', async () => {
    let sockets = 0;
    const url = await script((socket) => {
      sockets++;
      socket.on('data', () => socket.write('-ERR max number of clients reached\r\n'));
    });
    const c = connection(url);
    expect(await Promise.all([c.connect(), c.connect()])).toEqual([false, false]);
    const waiting = c.connect(); // the next attempt is scheduled, not under way
    c.close();
    expect(await waiting).toBe(false);
    expect(await c.connect()).toBe(false);
    const opened = sockets;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sockets).toBe(opened); // closed for good: no reconnecting
    expect(c.status).toBe('end');
  });

  it('a server that never finishes the handshake is given up on after the connect timeout', async () => {
    const url = await script(() => {}); // accepts, never answers AUTH
    const c = connection(url.replace('redis://', 'redis://:pw@'), {
      connectTimeoutMs: 100,
      commandTimeoutMs: 100,
    });
    const started = performance.now();
    expect(await c.connect()).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('respSettingsFromUrl', () => {
  const t = { connectTimeoutMs: 1, commandTimeoutMs: 2 };
  it.each<[string, Partial<RespConnectionOptions> | null]>([
    ['redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380, db: 0, tls: false }],
    ['redis://localhost', { host: 'localhost', port: 6379 }],
    ['rediss://u:p%40ss@h:1/2', { host: 'h', port: 1, username: 'u', password: 'p@ss', db: 2, tls: true }],
    ['redis://:only@[::1]:7000', { host: '::1', port: 7000, username: undefined, password: 'only' }],
    ['redis://h:1/?family=6', null], // options only ioredis reads: leave it all to ioredis
    ['redis://h:1/db', null],
    ['http://h:1', null],
  ])('%s', (url, want) => {
    const got = respSettingsFromUrl(url, t);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatchObject({ ...want, ...t });
  });
});

describe('RedisStore on the lean connection', () => {
  it('maps its failures to the typed RedisError codes the failure path branches on', async () => {
    const own = await startLocalRedis();
    const store = new RedisStore({
      url: own.url,
      clusterNodes: [],
      keyPrefix: '',
      connectTimeoutMs: 200,
      commandTimeoutMs: 200,
    });
    try {
      expect(await store.connect()).toBe(true);
      await store.set(Buffer.from('k'), Buffer.from('v'), 0);
      await store.client.hset('h', 'f', 'v');
      await expect(store.get(Buffer.from('h'))).rejects.toMatchObject({ code: 'REDIS_REPLY' });
      await own.kill();
      await waitFor(() => !store.ready, 2_000, 'the store to notice Redis is gone');
      const err = await store.get(Buffer.from('k')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisError);
      expect((err as RedisError).code).toBe('REDIS_UNAVAILABLE');
    } finally {
      await store.close();
      await own.stop();
    }
  });
});
