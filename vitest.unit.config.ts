// The unit tier, `npm run test:unit`: every `*.unit.test.ts`, the tests that run in memory only (no process, no
// socket, no build; test/support/unit-tier.ts refuses them), with a fraction of the generated cases
// (test/support/tier.ts), in seconds. `npm test` (vitest.config.ts) runs the same files too, once, with every case.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.unit.test.ts'],
    setupFiles: ['test/support/unit-tier.ts'],
    env: { KMP_TEST_TIER: 'unit' },
    testTimeout: 10_000,
    hookTimeout: 10_000,
    // Threads start faster than processes, and one module graph per thread rather than per file halves the time
    // spent importing. These tests leave no global state behind: fake timers are put back after each test, the
    // simulation uninstalls its virtual clock, nothing registers into a global registry.
    pool: 'threads',
    isolate: false,
    maxWorkers: 2,
  },
});
