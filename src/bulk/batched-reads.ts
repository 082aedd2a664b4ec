// Redis for the bulk copy's convergence step: every key copied is read again from Redis after its Kask write. Those
// re-reads, made one key at a time by the shared backfill code, are gathered here: GETs asked for in one turn of the
// event loop leave as one MGET (RedisStore.getMany), instead of one command, one timer and one promise each, and
// while that MGET is out the next ones gather behind it.
// Reading later than asked is safe: the rule needs the re-read to follow the Kask write, and it does.
import type { RedisStore } from '../redis/store.js';

/** Most keys one MGET carries; a larger turn's worth goes out as several. */
const MAX_KEYS_PER_READ = 500;
/**
 * MGETs out at once. While one is out, reads asked for in later turns wait for it and then leave together: each MGET
 * is a syscall and a Redis round trip, so under load this makes fewer, fuller ones (about 4 keys each instead of 3 in
 * the copy benchmark), and when idle a read still leaves in its own turn.
 */
const MAX_READS_IN_FLIGHT = 1;

interface Waiting {
  key: Buffer;
  resolve: (value: Buffer | null) => void;
  reject: (err: unknown) => void;
}

export class BatchedReads {
  #waiting: Waiting[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(readonly store: RedisStore) {}

  get(key: Buffer): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ key, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= MAX_READS_IN_FLIGHT || this.#waiting.length === 0) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  set(key: Buffer, value: Buffer, ttlSeconds: number): Promise<void> {
    return this.store.set(key, value, ttlSeconds);
  }

  delete(key: Buffer): Promise<void> {
    return this.store.delete(key);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let at = 0; at < waiting.length; at += MAX_KEYS_PER_READ) {
      const batch = waiting.slice(at, at + MAX_KEYS_PER_READ);
      this.#inFlight++;
      this.store.getMany(batch.map((w) => w.key)).then(
        (values) => {
          this.#done();
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(values[i] ?? null);
        },
        (err: unknown) => {
          this.#done();
          for (const w of batch) w.reject(err);
        },
      );
    }
  };

  #done(): void {
    this.#inFlight--;
    this.#schedule();
  }
}
