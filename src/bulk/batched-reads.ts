// Redis for the bulk copy's convergence step: every key copied is read again from Redis after its Kask write. Those
// re-reads, made one key at a time by the shared backfill code, are gathered here: GETs asked for in one turn of the
// event loop leave as one MGET (RedisStore.getMany), instead of one command, one timer and one promise each.
// Reading later than asked is safe: the rule needs the re-read to follow the Kask write, and it does.
import type { RedisStore } from '../redis/store.js';

/** Most keys one MGET carries; a larger turn's worth goes out as several. */
const MAX_KEYS_PER_READ = 500;

interface Waiting {
  key: Buffer;
  resolve: (value: Buffer | null) => void;
  reject: (err: unknown) => void;
}

export class BatchedReads {
  #waiting: Waiting[] = [];

  constructor(readonly store: RedisStore) {}

  get(key: Buffer): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) setImmediate(this.#flush);
      this.#waiting.push({ key, resolve, reject });
    });
  }

  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<void> {
    return this.store.set(key, value, ttlSeconds);
  }

  delete(key: Buffer): Promise<void> {
    return this.store.delete(key);
  }

  readonly #flush = (): void => {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let at = 0; at < waiting.length; at += MAX_KEYS_PER_READ) {
      const batch = waiting.slice(at, at + MAX_KEYS_PER_READ);
      this.store.getMany(batch.map((w) => w.key)).then(
        (values) => {
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(values[i] ?? null);
        },
        (err: unknown) => {
          for (const w of batch) w.reject(err);
        },
      );
    }
  };
}
