// Tracks work that runs after the answer has gone out (backfills, shadow reads), so shutdown can wait for it.

export class BackgroundTasks {
  readonly #running = new Set<Promise<unknown>>();

  /** Starts `task` now; its failure is the task's own business (tasks report through the observer). */
  run(task: () => Promise<unknown>): void {
    const p = task().catch(() => {});
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  get size(): number {
    return this.#running.size;
  }

  /** Resolves true once all tasks finished, false if `timeoutMs` passed first. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      });
      await Promise.race([Promise.allSettled([...this.#running]), timeout]);
      clearTimeout(timer);
    }
    return true;
  }
}
