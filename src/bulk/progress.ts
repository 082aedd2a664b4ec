// Live progress of a bulk run (copy, survey, verify): a progress bar (cli-progress) when stderr is a terminal,
// otherwise one JSON line every few seconds (what a Kubernetes Job's log keeps). Both on stderr: stdout carries only
// the final report.
import cliProgress from 'cli-progress';
import type { CopySnapshot } from './copier.js';
import type { WalkProgress } from './walk.js';

/** What one update shows, whichever tool runs. */
export interface ProgressView {
  scanned: number;
  /** Keys on the masters (DBSIZE): an upper bound for the bar and the ETA. */
  total: number;
  keysPerSecond: number;
  /** The tool's own counts, for the bar (e.g. `copied 10 skipped 2 failed 0`). */
  summary: string;
  /** The JSON progress line (without its timestamp). */
  line: Record<string, unknown>;
}

export interface ProgressReporter {
  update(view: ProgressView): void;
  stop(view: ProgressView): void;
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

/**
 * Reports `view()` every interval until `work` settles, then once more; resolves (or rejects) as `work` does.
 * The one way every bulk tool shows progress.
 */
export async function withProgress<T>(view: () => ProgressView, work: Promise<T>): Promise<T> {
  const { reporter, everyMs } = progressReporter();
  const timer = setInterval(() => reporter.update(view()), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    reporter.stop(view());
  }
}

class BarReporter implements ProgressReporter {
  readonly #bar: cliProgress.SingleBar;
  #started = false;

  constructor(stream: NodeJS.WriteStream) {
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format:
          '{bar} {percentage}% | scanned {value}/{total} | {summary} | {rate} keys/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 50,
        fps: 4,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(v: ProgressView): void {
    const payload = { summary: v.summary, rate: Math.round(v.keysPerSecond) };
    const total = Math.max(v.total, v.scanned);
    if (!this.#started) {
      this.#bar.start(total, v.scanned, payload);
      this.#started = true;
    } else {
      this.#bar.setTotal(total);
      this.#bar.update(v.scanned, payload);
    }
  }

  stop(v: ProgressView): void {
    this.update(v);
    this.#bar.stop();
  }
}

class JsonLinesReporter implements ProgressReporter {
  constructor(readonly stream: NodeJS.WriteStream) {}

  update(v: ProgressView): void {
    this.stream.write(`${JSON.stringify({ '@timestamp': new Date().toISOString(), ...v.line })}\n`);
  }

  stop(v: ProgressView): void {
    this.update(v);
  }
}

/** The copy's progress. */
export function copyView(s: CopySnapshot): ProgressView {
  const c = s.counters;
  return {
    scanned: c.scanned,
    total: s.estimatedKeys,
    keysPerSecond: s.keysPerSecond,
    summary: `copied ${c.copied} skipped ${c.skipped} failed ${c.failed} | Kask ${s.kask.state} x${s.kask.concurrency}`,
    line: {
      event: 'copy.progress',
      run_id: s.runId,
      shard: s.shard,
      dry_run: s.dryRun,
      scanned: c.scanned,
      copied: c.copied,
      skipped: c.skipped,
      failed: c.failed,
      estimated_keys: s.estimatedKeys,
      keys_per_second: Math.round(s.keysPerSecond),
      eta_seconds: s.etaSeconds === null ? null : Math.round(s.etaSeconds),
      kask_state: s.kask.state,
      kask_concurrency: s.kask.concurrency,
    },
  };
}

/** A read-mostly walk's progress (survey, verify): keys scanned, and the ones whose values were examined. */
export function walkView(
  tool: string,
  p: WalkProgress,
  estimatedKeys: number,
  startedMs: number,
): ProgressView {
  const elapsedMs = performance.now() - startedMs;
  const keysPerSecond = elapsedMs > 0 ? (p.scanned * 1000) / elapsedMs : 0;
  const left = Math.max(0, estimatedKeys - p.scanned);
  return {
    scanned: p.scanned,
    total: estimatedKeys,
    keysPerSecond,
    summary: `examined ${p.examined}`,
    line: {
      event: `${tool}.progress`,
      scanned: p.scanned,
      examined: p.examined,
      estimated_keys: estimatedKeys,
      keys_per_second: Math.round(keysPerSecond),
      eta_seconds: keysPerSecond > 0 ? Math.round(left / keysPerSecond) : null,
    },
  };
}
