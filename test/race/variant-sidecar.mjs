// Test fixture: a sidecar process running a deliberately broken variant of the dual-phase protocol, so the race
// test can show that it catches each hole the real protocol closes. Usage: node variant-sidecar.mjs VARIANT [serve flags]

import { envelopeToRedis } from '../../dist/codec/convert.js';
import { loadConfig } from '../../dist/config/load.js';
import { buildPhase } from '../../dist/phases/build.js';
import { convergeKaskToRedis } from '../../dist/phases/convergence.js';
import { MigrationPhase } from '../../dist/phases/migration.js';
import { startSidecar } from '../../dist/sidecar.js';

const OK = { kind: 'ok' };
const deadline = (stores) => stores.budget.now() + stores.budget.requestDeadlineMs;
const ERROR = { kind: 'error' };

/** Kask before Redis: two writers can leave Kask and Redis holding different values for good. */
class KaskFirstWrites extends MigrationPhase {
  async set(key, value, meta) {
    const s = this.stores;
    try {
      await s.kask.set(key, value, meta.forward);
      const converted = envelopeToRedis(value, s.values);
      if (converted.ok) await s.redis.set(key, converted.bytes, s.redisTtlSeconds);
      await convergeKaskToRedis(s, key, converted.ok ? converted.bytes : null, deadline(s), meta);
      return OK;
    } catch {
      return ERROR;
    }
  }
  async delete(key, meta) {
    const s = this.stores;
    try {
      await s.kask.delete(key, meta.forward);
      await s.redis.delete(key);
      await convergeKaskToRedis(s, key, null, deadline(s), meta);
      return OK;
    } catch {
      return ERROR;
    }
  }
}

/** Redis then Kask, but no re-read afterwards: interleaved writers leave the stores different. */
class WritesWithoutReread extends MigrationPhase {
  async set(key, value, meta) {
    const s = this.stores;
    try {
      const converted = envelopeToRedis(value, s.values);
      if (converted.ok) await s.redis.set(key, converted.bytes, s.redisTtlSeconds);
      await s.kask.set(key, value, meta.forward);
      return OK;
    } catch {
      return ERROR;
    }
  }
  async delete(key, meta) {
    const s = this.stores;
    try {
      await s.redis.delete(key);
      await s.kask.delete(key, meta.forward);
      return OK;
    } catch {
      return ERROR;
    }
  }
}

/** Backfill that POSTs and walks away: it can clobber a newer write or resurrect a deleted key. */
class BackfillWithoutReread extends MigrationPhase {
  async backfill(key, _stored, envelope, meta) {
    await this.stores.kask.set(key, envelope, meta.forward);
    this.stores.observer.backfill('written');
  }
}

const VARIANTS = {
  'kask-first-writes': KaskFirstWrites,
  'writes-without-reread': WritesWithoutReread,
  'backfill-without-reread': BackfillWithoutReread,
};

const [variant, ...flags] = process.argv.slice(2);
const Variant = VARIANTS[variant];
if (!Variant) {
  process.stderr.write(`unknown variant ${variant}; one of ${Object.keys(VARIANTS).join(', ')}\n`);
  process.exit(2);
}
const overrides = {};
for (let i = 0; i < flags.length; i += 2) overrides[flags[i].replace(/^--/, '')] = flags[i + 1];
const config = loadConfig(null, { ...overrides, phase: 'migration' });
const sidecar = await startSidecar(config, {
  async buildPhase(name, deps) {
    const real = await buildPhase(name, deps);
    return real instanceof MigrationPhase ? new Variant(real.stores, real.backfillEnabled) : real;
  },
});
process.on('SIGTERM', () => void sidecar.close().then(() => process.exit(0)));
