// The copier's Prometheus metrics (`copy --metrics-listen HOST:PORT`): keys by outcome, the expected total and
// whether the shard is done, labelled by shard so a dashboard can follow every worker of a sharded run.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CopyCounters } from './counters.js';

export type CopyOutcome = 'scanned' | 'copied' | 'skipped' | 'failed';

export class CopyMetrics {
  readonly registry = new Registry();
  readonly #keys = new Counter({
    name: 'kmp_copy_keys_total',
    help: 'Keys handled by the bulk copy, by outcome (scanned, copied, skipped, failed) and shard.',
    labelNames: ['outcome', 'shard'] as const,
    registers: [this.registry],
  });
  readonly #estimated = new Gauge({
    name: 'kmp_copy_estimated_keys',
    help: 'Keys the shard is expected to scan (DBSIZE over the Redis masters, divided by the shard count).',
    labelNames: ['shard'] as const,
    registers: [this.registry],
  });
  readonly #done = new Gauge({
    name: 'kmp_copy_done',
    help: '1 once the shard has scanned its whole keyspace, else 0.',
    labelNames: ['shard'] as const,
    registers: [this.registry],
  });
  readonly #bound: Record<CopyOutcome, ReturnType<Counter<'outcome' | 'shard'>['labels']>>;

  constructor(readonly shard: string) {
    this.#bound = {
      scanned: this.#keys.labels({ outcome: 'scanned', shard }),
      copied: this.#keys.labels({ outcome: 'copied', shard }),
      skipped: this.#keys.labels({ outcome: 'skipped', shard }),
      failed: this.#keys.labels({ outcome: 'failed', shard }),
    };
  }

  /** A run starts (or resumes with `sofar` already counted). */
  start(estimatedKeys: number, sofar: CopyCounters): void {
    this.#estimated.set({ shard: this.shard }, estimatedKeys);
    this.#done.set({ shard: this.shard }, 0);
    for (const outcome of ['scanned', 'copied', 'skipped', 'failed'] as const)
      this.#bound[outcome].inc(sofar[outcome]);
  }

  count(outcome: CopyOutcome): void {
    this.#bound[outcome].inc();
  }

  finish(): void {
    this.#done.set({ shard: this.shard }, 1);
  }

  /** Serves GET /metrics; resolves to the server once it listens. */
  async serve(host: string, port: number): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    server.unref();
    return server;
  }
}
