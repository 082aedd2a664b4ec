// A run's whole log, at debug level, through every phase, conversions that fail, shadow mismatches, refused admin
// calls and a reload: it must never contain the admin token, the HMAC key or any value, and every request-scoped
// line must carry the request id. Shadow mismatches are logged at a capped rate, not one line each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealEnvelope } from '../../src/codec/envelope.js';
import { useBackends, writeConfig } from '../support/backends.js';
import {
  admin,
  kv,
  logLines,
  type OpsSidecar,
  setPhase,
  startOpsSidecar,
  TOKEN,
  waitForLog,
} from '../support/ops-sidecar.js';
import { sleep } from '../support/wait.js';

const HMAC_KEY = 'hmac-K3Y-c0ffee-91ab57';
const WRONG_TOKEN = 'WR0NG-t0ken-5ec2e7';
const SECRET = 'VALUE-SECRET';
const signing = { type: 'JSON' as const, hmacKey: Buffer.from(HMAC_KEY) };

const backends = useBackends();
let sidecar: OpsSidecar;
const signatures: string[] = [];

const key = (n: number) => `global:echo:seen:alert:time:hygiene${n}`;
const signed = (text: string) => {
  const body = sealEnvelope(Buffer.from(JSON.stringify(text)), signing).toString('latin1');
  signatures.push(body.split('.')[1]!);
  return body;
};

beforeAll(async () => {
  const config = writeConfig('logging:\n  level: debug\nmigration:\n  shadow_sample_rate: 1\n');
  sidecar = await startOpsSidecar(backends, ['--config', config, '--phase', 'migration'], {
    KMP_HMAC_KEY: HMAC_KEY,
  });
});
afterAll(async () => {
  await sidecar?.proc.stop();
});

async function traffic(): Promise<void> {
  let id = 0;
  const h = () => ({ 'x-request-id': `hygiene-req-${++id}` });
  for (let n = 0; n < 20; n++) {
    expect((await kv(sidecar.url, 'POST', key(n), signed(`${SECRET}-${n}`), h())).status).toBe(201);
    expect((await kv(sidecar.url, 'GET', key(n), undefined, h())).status).toBe(200);
  }
  // Badly signed (a miss to MediaWiki: kept in Redis behind PHP false), and Redis values that cannot become envelopes.
  await kv(sidecar.url, 'POST', key(100), `JSON.forged.${JSON.stringify(`${SECRET}-forged`)}`, h());
  for (let n = 200; n < 205; n++) {
    await backends.redis.set(key(n), `s:99:"${SECRET}-broken-${n}";`);
    await kv(sidecar.url, 'GET', key(n), undefined, h());
  }
  // dual-write with every read shadow-compared: Kask differs from Redis for all of these keys.
  await setPhase(sidecar.adminUrl, 'dual-write');
  for (let n = 0; n < 20; n++)
    await backends.redis.set(key(n), `s:22:"${SECRET}-redis-${String(n).padStart(3, '0')}";`);
  for (let round = 0; round < 3; round++)
    for (let n = 0; n < 20; n++) await kv(sidecar.url, 'GET', key(n), undefined, h());
  await admin(sidecar.adminUrl, 'GET', '/status', { authorization: `Bearer ${WRONG_TOKEN}` });
  await admin(sidecar.adminUrl, 'PUT', '/phase', {
    body: { phase: 'kask-only' },
    authorization: WRONG_TOKEN,
  });
  await setPhase(sidecar.adminUrl, 'kask-only', true);
  for (let n = 0; n < 5; n++) await kv(sidecar.url, 'GET', key(n), undefined, h());
  sidecar.proc.child.kill('SIGHUP');
  await waitForLog(
    sidecar.proc,
    (l) => l['event.action'] === 'config.reload' && l['event.outcome'] !== undefined,
  );
}

describe('log hygiene', () => {
  it('never logs tokens, the HMAC key or values; request-scoped lines carry the request id', async () => {
    await traffic();
    await sleep(200);
    const metrics = await (await fetch(`${sidecar.origin}/metrics`)).text();
    expect(await sidecar.proc.stop()).toBe(0);
    const out = sidecar.proc.output();
    const lines = logLines(sidecar.proc);

    for (const secret of [TOKEN, WRONG_TOKEN, HMAC_KEY, Buffer.from(HMAC_KEY).toString('base64'), SECRET])
      expect(out, secret).not.toContain(secret);
    for (const signature of signatures) expect(out).not.toContain(signature);

    // The run did produce the lines that could have leaked.
    const actions = new Set(lines.map((l) => l['event.action']));
    for (const action of [
      'request',
      'convert',
      'shadow',
      'admin.auth',
      'phase.change',
      'config.reload',
      'shutdown',
    ])
      expect(actions, action).toContain(action);
    for (const line of lines.filter((l) =>
      ['request', 'convert', 'shadow'].includes(l['event.action'] as string),
    ))
      expect(line['trace.id'], JSON.stringify(line)).toMatch(/^hygiene-req-\d+$/);
    const requests = lines.filter((l) => l['event.action'] === 'request');
    expect(requests.length).toBeGreaterThan(100);
    expect(requests[0]).toMatchObject({
      'log.level': 'debug',
      'http.request.method': 'POST',
      'http.response.status_code': 201,
    });

    // 60 mismatches counted, at most 10 a minute logged.
    const mismatches = Number(/kmp_shadow_compare_total\{result="mismatch"\} (\d+)/.exec(metrics)?.[1]);
    expect(mismatches).toBe(60);
    const logged = lines.filter((l) => l['event.action'] === 'shadow');
    expect(logged.length).toBe(10);
    expect(logged[0]!['kmp.key']).toMatch(/^global:echo:seen:alert:time:hygiene\d+$/);
  });
});
