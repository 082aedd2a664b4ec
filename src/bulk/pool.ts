// Runs work over a list with a bounded, adjustable number of workers: the copier's per-batch concurrency, which
// the pacer narrows while Kask struggles.

/** Calls `work` for every item with at most `width()` calls in flight (re-read as workers finish items). */
export async function forEachLimited<T>(
  items: readonly T[],
  width: () => number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const pump = (): void => {
      if (failed) return;
      while (active < Math.max(1, width()) && next < items.length) {
        const item = items[next++]!;
        active++;
        work(item).then(
          () => {
            active--;
            pump();
          },
          (err: unknown) => {
            failed = true;
            reject(err);
          },
        );
      }
      if (active === 0 && next >= items.length) resolve();
    };
    pump();
  });
}
