// The resilience bundle's lifecycle: the repairer runs exactly in the phases that write Redis, and nothing brings it
// back once the bundle is closed (a phase change that slips in during shutdown once did).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logging.js';
import { Metrics } from '../../src/ops/metrics.js';
import { SILENT_OBSERVER } from '../../src/phases/observer.js';
import type { RedisStore } from '../../src/redis/store.js';
import { createResilience } from '../../src/resilience/resilience.js';
import { FakeKask } from '../support/fakes/backends.js';
import { memoryRepairLedger } from '../support/fakes/repair-ledger.js';

function bundle() {
  const config = loadConfig(null, {}, {});
  return createResilience({
    live: { config },
    kask: new FakeKask(),
    redis: async () => ({}) as RedisStore,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger('test', 'fatal'),
    observer: SILENT_OBSERVER,
    background: { run: (task) => void task() },
    // An empty queue that answers at once: the repairer idles on it.
    ledger: memoryRepairLedger(),
  });
}

describe('resilience', () => {
  it('runs the repairer in every phase that writes Redis and stops it in kask-only', async () => {
    const r = bundle();
    for (const phase of ['dual-write', 'migration', 'kask-primary', 'redis-shadow'] as const) {
      r.phaseChanged(phase);
      expect(r.repairer.running, phase).toBe(true);
    }
    r.phaseChanged('kask-only');
    await r.repairer.stop();
    expect(r.repairer.running).toBe(false);
    await r.close();
  });

  it('does not restart the repairer for a phase change that arrives after close', async () => {
    const r = bundle();
    r.phaseChanged('migration');
    await r.close();
    r.phaseChanged('migration');
    expect(r.repairer.running).toBe(false);
    await r.repairer.stop();
  });
});
