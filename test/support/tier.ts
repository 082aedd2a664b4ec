// How many cases the property tests, the PHP vector tables and the simulation run. `npm test` runs them all. The
// unit tier (`npm run test:unit`, vitest.unit.config.ts, which sets KMP_TEST_TIER=unit) is feedback within seconds
// while working, so it runs a tenth of them (the simulation's seeds, at about 15 ms each, fewer still): the same
// checks on fewer inputs, never other assertions.
export const UNIT_TIER = process.env['KMP_TEST_TIER'] === 'unit';

/** `full` cases, or `unit` in the unit tier: by default a tenth of them, at least 10. */
export function cases(full: number, unit = Math.max(10, Math.round(full / 10))): number {
  return UNIT_TIER ? unit : full;
}

/** fast-check's parameter for `full` runs, scaled as `cases`. */
export const runs = (full: number): { numRuns: number } => ({ numRuns: cases(full) });

/** Every item, or every tenth (from the first) in the unit tier. */
export function sample<T>(items: readonly T[]): T[] {
  return UNIT_TIER ? items.filter((_, i) => i % 10 === 0) : [...items];
}
