// The phase guard's local rules on a real PhaseSwitch with stand-in phases: one rung at a time, and no step that
// is not a neighbour of the phase this host may still be serving (requests of it run for one request deadline).
import { describe, expect, it } from 'vitest';
import type { PhaseName } from '../../src/config/schema.js';
import type { MarkerRead } from '../../src/fleet/completion-marker.js';
import { createLogger } from '../../src/ops/logging.js';
import { PhaseControl } from '../../src/ops/phase-control.js';
import type { Phase } from '../../src/phases/phase.js';
import { PhaseSwitch } from '../../src/phases/phase-switch.js';

const SETTLE_MS = 3000;
const MARKER: MarkerRead = {
  kind: 'present',
  marker: {
    completed_at: '2026-11-01T00:00:00.000Z',
    run_id: 'test',
    keys_scanned: 0,
    keys_copied: 0,
    keys_skipped: 0,
    keys_failed: 0,
    shards: { count: 1, done: [0] },
    version: 'test',
  },
};

function control(start: PhaseName) {
  const phase = (name: PhaseName) => ({ name }) as unknown as Phase;
  const clock = { now: 1_000_000 };
  const c = new PhaseControl(
    new PhaseSwitch(phase(start), async (name) => phase(name)),
    async () => MARKER,
    createLogger('test', 'fatal'),
    async () => 0,
    undefined,
    SETTLE_MS,
    () => clock.now,
  );
  const to = (name: PhaseName) => c.request({ to: name, force: false, source: 'admin' });
  return { c, clock, to };
}

describe('phase control, local rules', () => {
  it('moves one rung at a time', async () => {
    const { to } = control('migration');
    expect(await to('kask-only')).toMatchObject({ kind: 'refused' });
    expect(await to('kask-primary')).toMatchObject({ kind: 'changed', from: 'migration' });
  });

  it('takes no step that does not neighbour the phase it may still be serving, until that has settled', async () => {
    const { to, clock } = control('migration');
    expect(await to('kask-primary')).toMatchObject({ kind: 'changed' });
    const early = await to('redis-shadow');
    expect(early).toMatchObject({ kind: 'refused' });
    expect(early.kind === 'refused' && early.reason).toContain(
      'requests of migration may still be running here',
    );
    // A step back towards the phase still settling is a neighbour of it: allowed at once.
    expect(await to('migration')).toMatchObject({ kind: 'changed' });
    expect(await to('kask-primary')).toMatchObject({ kind: 'changed' });
    clock.now += SETTLE_MS;
    expect(await to('redis-shadow')).toMatchObject({ kind: 'changed', from: 'kask-primary' });
  });

  it('forced, it steps at once', async () => {
    const { c } = control('migration');
    await c.request({ to: 'kask-primary', force: false, source: 'admin' });
    expect(await c.request({ to: 'redis-shadow', force: true, source: 'admin' })).toMatchObject({
      kind: 'changed',
      forced: true,
    });
  });
});
