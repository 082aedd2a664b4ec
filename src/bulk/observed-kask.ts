// Kask as the copier calls it: every call's outcome and latency go to the pacer, which slows the copy down when
// Kask errors or slows, and speeds it up again when Kask recovers.
import type { KaskRead } from '../kask/client.js';
import type { KaskApi } from '../phases/dual-stores.js';
import type { Pacer } from './pacing.js';

export class ObservedKask implements KaskApi {
  constructor(
    readonly inner: KaskApi,
    readonly pacer: Pacer,
  ) {}

  get(key: Buffer, forward?: Record<string, string>): Promise<KaskRead> {
    return this.#timed(() => this.inner.get(key, forward));
  }

  set(key: Buffer, value: Buffer, forward?: Record<string, string>): Promise<void> {
    return this.#timed(() => this.inner.set(key, value, forward));
  }

  delete(key: Buffer, forward?: Record<string, string>): Promise<void> {
    return this.#timed(() => this.inner.delete(key, forward));
  }

  async #timed<T>(call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.pacer.observe(true, performance.now() - started);
      return result;
    } catch (err) {
      this.pacer.observe(false, performance.now() - started);
      throw err;
    }
  }
}
