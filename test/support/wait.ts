// Waiting in tests, one way for every suite: poll for a condition instead of sleeping for a fixed time. `waitFor`
// resolves as soon as the condition holds and fails with a clear message if it never does; `eventually` hands back
// the probe's last value either way, for a suite whose assertion on that value says what went wrong.

/** Probes every `everyMs` until `done` accepts the value or `timeoutMs` has passed; the last value either way. */
export async function poll<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 25,
): Promise<{ value: T; done: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return { value, done: true };
    if (Date.now() > deadline) return { value, done: false };
    await sleep(everyMs);
  }
}

/** Resolves once `condition` holds; throws after `timeoutMs`, naming `what` it waited for. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  everyMs = 25,
): Promise<void> {
  const { done } = await poll(condition, (holds) => holds, timeoutMs, everyMs);
  if (!done) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The probe's value once `ok` accepts it, or its last value after `timeoutMs` (for the caller to assert on). */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 25,
): Promise<T> {
  return (await poll(probe, ok, timeoutMs, everyMs)).value;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
