// Keys and values as Redis and Kask hold them: byte strings, stored and handed out by value (a caller may reuse its
// buffer after the call, as the front does with pooled request bodies). Shared by the unit tests' fake backends
// and the protocol simulation's stores.

/** A key as a map key: every byte kept (latin1 maps bytes 0–255 one to one). */
export const keyName = (key: Buffer | string): string =>
  typeof key === 'string' ? key : key.toString('latin1');

export class ByteStore {
  readonly #values = new Map<string, Buffer>();

  /** A copy of the value, or null when the key is absent. */
  get(key: Buffer | string): Buffer | null {
    const value = this.#values.get(keyName(key));
    return value ? Buffer.from(value) : null;
  }

  set(key: Buffer | string, value: Buffer): void {
    this.#values.set(keyName(key), Buffer.from(value));
  }

  delete(key: Buffer | string): void {
    this.#values.delete(keyName(key));
  }

  has(key: Buffer | string): boolean {
    return this.#values.has(keyName(key));
  }
}
