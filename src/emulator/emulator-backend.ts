// The emulator's request strategy: Kask's semantics over the in-memory store, with optional injected faults.
import {
  HIT,
  MISS,
  type Phase,
  READ_ERROR,
  type ReadOutcome,
  WRITE_ERROR,
  WRITE_OK,
  type WriteOutcome,
} from '../phases/phase.js';
import type { Faults } from './faults.js';
import type { MemoryStore } from './memory-store.js';

export class EmulatorBackend implements Phase {
  readonly name = 'emulator' as const;

  constructor(
    readonly store: MemoryStore,
    readonly faults: Faults,
  ) {}

  async get(key: Buffer): Promise<ReadOutcome> {
    if (await this.faults.inject('GET', key)) return READ_ERROR;
    const value = this.store.get(key);
    await this.faults.afterApply('GET', key);
    return value === undefined ? MISS : HIT(value);
  }

  async set(key: Buffer, value: Buffer): Promise<WriteOutcome> {
    if (await this.faults.inject('POST', key)) return WRITE_ERROR;
    this.store.set(key, value);
    await this.faults.afterApply('POST', key);
    return WRITE_OK;
  }

  async delete(key: Buffer): Promise<WriteOutcome> {
    if (await this.faults.inject('DELETE', key)) return WRITE_ERROR;
    this.store.delete(key);
    await this.faults.afterApply('DELETE', key);
    return WRITE_OK;
  }
}
