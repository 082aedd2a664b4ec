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

  get(key: Buffer, meta: RequestMeta): Promise<ReadOutcome> {
    return readKask(this.kask, this.observe, key, meta);
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

/** A GET answered by Kask alone: kask-only's reads, and dual-write's when Redis cannot answer. */
export async function readKask(
  kask: KaskApi,
  observer: PhaseObserver,
  key: Buffer,
  meta: RequestMeta,
): Promise<ReadOutcome> {
  try {
    const read = await kask.get(key, meta.forward);
    observer.read(read.kind === 'hit' ? 'kask' : 'miss');
    return read.kind === 'hit' ? HIT(read.value) : MISS;
  } catch (err) {
    observer.backendFailure('kask', 'get', err, meta);
    return READ_ERROR;
  }
}
