// Redis is opened on first need (never in kask-only), once for all callers; a failed open is forgotten, so the
// next need tries again instead of every later call failing on the first attempt's error.

export interface LazyOpen<T> {
  /** The first call opens; later calls share that open; after it failed, the next call opens again. */
  open(): Promise<T>;
  /** The open started (in progress or done), or null when none was started or the last one failed. */
  opened(): Promise<T> | null;
}

export function lazyOpen<T>(open: () => Promise<T>): LazyOpen<T> {
  let pending: Promise<T> | null = null;
  return {
    open() {
      pending ??= open().catch((err: unknown) => {
        pending = null;
        throw err;
      });
      return pending;
    },
    opened: () => pending,
  };
}
