// A copy's checkpoint: one JSON file per shard (`copy-<i>of<n>.json`) holding each (master, pattern) SCAN cursor
// up to which every key has been handled, the counters so far and the run id. Written atomically (temp file, then
// rename), so a kill -9 at any moment leaves either the previous checkpoint or the new one; flushed to disk (fsync)
// only when asked, every few seconds, since a rename alone already survives the process dying.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyCounters, Examples } from './counters.js';
import { BulkSettingsError } from './errors.js';
import type { ScanStream } from './keyspace.js';
import type { Shard } from './shard.js';

export interface Checkpoint {
  format: 1;
  run_id: string;
  shard: Shard;
  patterns: string[];
  key_prefix: string;
  streams: ScanStream[];
  counters: CopyCounters;
  examples: Examples;
  started_at: string;
  updated_at: string;
  /** Every walk done: the shard's work is complete (what a resumed run then only reports). */
  finished: boolean;
}

export function checkpointPath(dir: string, shard: Shard): string {
  return join(dir, `copy-${shard.index}of${shard.count}.json`);
}

export function newRunId(): string {
  return randomUUID();
}

/** The checkpoint in `dir` for this shard, or null when there is none. */
export function loadCheckpoint(dir: string, shard: Shard): Checkpoint | null {
  const file = checkpointPath(dir, shard);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new BulkSettingsError(`cannot read checkpoint ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  let doc: Checkpoint;
  try {
    doc = JSON.parse(text) as Checkpoint;
  } catch {
    throw new BulkSettingsError(`checkpoint ${file} is not JSON; remove it to start over`);
  }
  if (doc.format !== 1 || !Array.isArray(doc.streams) || typeof doc.counters?.scanned !== 'number')
    throw new BulkSettingsError(`checkpoint ${file} is not a copy checkpoint; remove it to start over`);
  return doc;
}

/** Checks that a checkpoint belongs to this run's settings and keyspace; throws BulkSettingsError if not. */
export function assertResumable(
  cp: Checkpoint,
  patterns: string[],
  keyPrefix: string,
  nodeIds: string[],
  file: string,
): void {
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(cp.patterns, patterns))
    throw new BulkSettingsError(
      `checkpoint ${file} is for patterns ${cp.patterns.join(' ')}, not ${patterns.join(' ')}`,
    );
  if (cp.key_prefix !== keyPrefix)
    throw new BulkSettingsError(`checkpoint ${file} is for key prefix "${cp.key_prefix}"`);
  const saved = [...new Set(cp.streams.map((s) => s.node))].sort();
  if (!same(saved, [...nodeIds].sort()))
    throw new BulkSettingsError(
      `checkpoint ${file} is for Redis masters ${saved.join(',')}, but Redis now has ${nodeIds.join(',')}; start over without --resume`,
    );
}

export function saveCheckpoint(dir: string, cp: Checkpoint, durable: boolean): void {
  mkdirSync(dir, { recursive: true });
  const file = checkpointPath(dir, cp.shard);
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(cp, null, 1)}\n`);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}
