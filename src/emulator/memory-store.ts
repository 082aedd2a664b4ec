// The emulator's storage: an in-memory map with Kask's TTL semantics (one server-wide default_ttl, reset on every write).

interface Entry {
  value: Buffer;
  /** Epoch ms after which the value is gone; Infinity when default_ttl is 0 (no expiry). */
  expiresAt: number;
}

export class MemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  #sweepCursor: Iterator<[string, Entry]> | null = null;

  /** @param defaultTtlSeconds Kask's `default_ttl`: 0 means values never expire. */
  constructor(defaultTtlSeconds: number, now: () => number = Date.now) {
    this.#ttlMs = defaultTtlSeconds === 0 ? Number.POSITIVE_INFINITY : defaultTtlSeconds * 1000;
    this.#now = now;
  }

  get(key: Buffer): Buffer | undefined {
    const id = key.toString('latin1');
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry.value;
  }

  set(key: Buffer, value: Buffer): void {
    // Copy: the caller's buffer may be a view into a pooled request body.
    this.#entries.set(key.toString('latin1'), {
      value: Buffer.from(value),
      expiresAt: this.#now() + this.#ttlMs,
    });
    this.#sweepSome();
  }

  delete(key: Buffer): void {
    this.#entries.delete(key.toString('latin1'));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Expires a few entries per write so memory stays bounded without a timer (Cassandra drops expired cells too). */
  #sweepSome(): void {
    if (this.#ttlMs === Number.POSITIVE_INFINITY) return;
    const now = this.#now();
    for (let i = 0; i < 4; i++) {
      this.#sweepCursor ??= this.#entries.entries();
      const next = this.#sweepCursor.next();
      if (next.done) {
        this.#sweepCursor = null;
        return;
      }
      const [id, entry] = next.value;
      if (entry.expiresAt <= now) this.#entries.delete(id);
    }
  }
}
