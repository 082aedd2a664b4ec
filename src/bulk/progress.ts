// Live progress of a bulk run: a progress bar (cli-progress) when stderr is a terminal, otherwise one JSON line
// every few seconds (what a Kubernetes Job's log keeps). Both on stderr: stdout carries only the final report.
import cliProgress from 'cli-progress';
import type { CopySnapshot } from './copier.js';

export interface ProgressReporter {
  update(snapshot: CopySnapshot): void;
  stop(snapshot: CopySnapshot): void;
}

/** Picks the bar for a terminal, JSON lines otherwise; `every` is how often the caller should update. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): {
  reporter: ProgressReporter;
  everyMs: number;
} {
  return stream.isTTY
    ? { reporter: new BarReporter(stream), everyMs: 500 }
    : { reporter: new JsonLinesReporter(stream), everyMs: 5_000 };
}

class BarReporter implements ProgressReporter {
  readonly #bar: cliProgress.SingleBar;
  #started = false;

  constructor(stream: NodeJS.WriteStream) {
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format:
          '{bar} {percentage}% | scanned {value}/{total} | copied {copied} skipped {skipped} failed {failed} | {rate} keys/s | ETA {eta_formatted} | Kask {kask}',
        hideCursor: true,
        etaBuffer: 50,
        fps: 4,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(s: CopySnapshot): void {
    const payload = {
      copied: s.counters.copied,
      skipped: s.counters.skipped,
      failed: s.counters.failed,
      rate: Math.round(s.keysPerSecond),
      kask: `${s.kask.state} x${s.kask.concurrency}`,
    };
    const total = Math.max(s.estimatedKeys, s.counters.scanned);
    if (!this.#started) {
      this.#bar.start(total, s.counters.scanned, payload);
      this.#started = true;
    } else {
      this.#bar.setTotal(total);
      this.#bar.update(s.counters.scanned, payload);
    }
  }

  stop(s: CopySnapshot): void {
    this.update(s);
    this.#bar.stop();
  }
}

class JsonLinesReporter implements ProgressReporter {
  constructor(readonly stream: NodeJS.WriteStream) {}

  update(s: CopySnapshot): void {
    this.stream.write(`${JSON.stringify(progressLine(s))}\n`);
  }

  stop(s: CopySnapshot): void {
    this.update(s);
  }
}

export function progressLine(s: CopySnapshot): Record<string, unknown> {
  return {
    '@timestamp': new Date().toISOString(),
    event: 'copy.progress',
    run_id: s.runId,
    shard: s.shard,
    dry_run: s.dryRun,
    scanned: s.counters.scanned,
    copied: s.counters.copied,
    skipped: s.counters.skipped,
    failed: s.counters.failed,
    estimated_keys: s.estimatedKeys,
    keys_per_second: Math.round(s.keysPerSecond),
    eta_seconds: s.etaSeconds === null ? null : Math.round(s.etaSeconds),
    kask_state: s.kask.state,
    kask_concurrency: s.kask.concurrency,
  };
}
