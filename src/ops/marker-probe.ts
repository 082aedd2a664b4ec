// Reads the copy's completion marker for the phase guard, even in kask-only (where no Redis connection is kept):
// the sidecar's own connection when one is open, otherwise a short-lived one opened and closed for the check.

import type { Config } from '../config/schema.js';
import { type MarkerRead, readCompletionMarker } from '../fleet/completion-marker.js';
import { RedisStore } from '../redis/store.js';

/** The sidecar's lazily opened Redis: the open connection if there is one (never opens it). */
export interface OpenRedis {
  opened(): Promise<RedisStore> | null;
}

/** A reader of the completion marker for the guard and /status; failures come back as `unreadable`. */
export function createMarkerProbe(redis: OpenRedis, settings: Config['redis']): () => Promise<MarkerRead> {
  return async () => {
    const open = redis.opened();
    if (open) {
      try {
        return await readCompletionMarker(await open);
      } catch (err) {
        return unreadable(err);
      }
    }
    if (settings.url === 'embedded')
      return { kind: 'unreadable', reason: 'the embedded redis-server is not running (kask-only)' };
    return readOnce(settings);
  };
}

function unreadable(err: unknown): MarkerRead {
  return { kind: 'unreadable', reason: err instanceof Error ? err.message : String(err) };
}

/** One connection for one read; the URL is never echoed (it may carry a password). */
async function readOnce(settings: Config['redis']): Promise<MarkerRead> {
  const store = new RedisStore(settings);
  try {
    if (!(await store.connect())) return { kind: 'unreadable', reason: 'Redis is not reachable' };
    return await readCompletionMarker(store);
  } finally {
    await store.close();
  }
}
