// Phase `kask-only`: every request goes to Kask; Redis is neither read nor written (nor even connected to).
import type { KaskApi } from './dual-stores.js';
import type { PhaseObserver } from './observer.js';
import {
  HIT,
  MISS,
  type Phase,
  READ_ERROR,
  type ReadOutcome,
  type RequestMeta,
  WRITE_ERROR,
  WRITE_OK,
  type WriteOutcome,
} from './phase.js';

export class KaskOnlyPhase implements Phase {
  readonly name = 'kask-only' as const;

  constructor(
    readonly kask: KaskApi,
    readonly observe: PhaseObserver,
  ) {}

  async get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    try {
      const read = await this.kask.get(key, meta.forward);
      this.observe.read(read.kind === 'hit' ? 'kask' : 'miss');
      return read.kind === 'hit' ? HIT(read.value) : MISS;
    } catch (err) {
      this.observe.backendFailure('kask', 'get', err, meta);
      return READ_ERROR;
    }
  }

  async set(key: Buffer, value: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    try {
      await this.kask.set(key, value, meta.forward);
      return WRITE_OK;
    } catch (err) {
      this.observe.backendFailure('kask', 'set', err, meta);
      return WRITE_ERROR;
    }
  }

  async delete(key: Buffer, meta: RequestMeta): Promise<WriteOutcome> {
    try {
      await this.kask.delete(key, meta.forward);
      return WRITE_OK;
    } catch (err) {
      this.observe.backendFailure('kask', 'delete', err, meta);
      return WRITE_ERROR;
    }
  }
}
