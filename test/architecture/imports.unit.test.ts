// Import hygiene of src/: no folder imports another in a loop, and every import points down the layer order below
// (a folder may import its own files and any folder on a lower level, never a sibling or anything above it).
// docs/architecture.md states the same order and says what each folder owns.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type AllowedImport,
  describeEdge,
  type ImportEdge,
  type Layers,
  layerViolations,
  readImports,
  renderLayers,
  undeclaredUnits,
  unitLoops,
  unitOf,
} from './import-graph.js';

/**
 * Lowest first. Decided from the real graph: the value codec and the wire helpers know nothing of the rest; the
 * config knows only the codec's envelope types; the two store clients sit on them; the phases (the consistency
 * protocol) use the stores, and beside them the fleet registry publishes each sidecar's phase in Redis (with the
 * copy's completion record the guard reads); ops/ (metrics, logs, admin, readiness) observes the phases;
 * resilience/ wraps the stores in breakers and repairs with the phases' protocol, reporting through ops/; the bulk
 * tools run the phases' per-key steps with the repair queue behind them; the front hands requests to a phase; the
 * emulator is a front over an in-memory store; sidecar.ts wires one process; cli/ is the top.
 */
const LAYERS: Layers = [
  ['codec', 'net'],
  ['config'],
  ['kask', 'redis'],
  ['phases', 'fleet'],
  ['ops'],
  ['resilience'],
  ['bulk'],
  ['front'],
  ['emulator'],
  ['sidecar.ts'],
  ['cli'],
];

/**
 * Imports tolerated although they break the order, each with why and what would remove it. Keep it empty when
 * possible: an entry that no longer matches a real import fails the suite, so the list cannot rot.
 */
const ALLOWED: readonly AllowedImport[] = [];

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const ARCHITECTURE_DOC = fileURLToPath(new URL('../../docs/architecture.md', import.meta.url));

const edges = readImports(SRC);
const judged = edges.filter((edge) => !ALLOWED.some((ok) => ok.from === edge.from && ok.to === edge.to));

describe('src/ import graph', () => {
  it('finds the imports it judges', () => {
    // A parser that found nothing would pass every rule below.
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'sidecar.ts', to: 'phases/build.ts' });
    expect(edges).toContainEqual({ from: 'phases/migration.ts', to: 'codec/convert.ts' });
  });

  it('declares every folder of src/ in the layer order', () => {
    const units = edges.flatMap((edge) => [unitOf(edge.from), unitOf(edge.to)]);
    const hint = 'add the folder to LAYERS and to docs/architecture.md';
    expect(undeclaredUnits(units, LAYERS), hint).toEqual([]);
  });

  it('has no import loop between folders', () => {
    expect(unitLoops(judged)).toEqual([]);
  });

  it('has no import from a folder to a sibling or to one above it', () => {
    expect(layerViolations(edges, LAYERS, ALLOWED).map(describeEdge)).toEqual([]);
  });

  it('allows only imports that still exist', () => {
    const stale = ALLOWED.filter((ok) => !edges.some((edge) => edge.from === ok.from && edge.to === ok.to));
    expect(stale.map(describeEdge)).toEqual([]);
  });

  it('is the order docs/architecture.md states', () => {
    expect(readFileSync(ARCHITECTURE_DOC, 'utf8')).toContain(renderLayers(LAYERS));
  });
});

describe('the rules themselves', () => {
  const layers: Layers = [['low', 'side'], ['mid'], ['top.ts']];
  const edge = (from: string, to: string): ImportEdge => ({ from, to });

  it('accept imports down the order and inside a folder', () => {
    const fine = [edge('top.ts', 'mid/a.ts'), edge('mid/a.ts', 'low/b.ts'), edge('low/b.ts', 'low/c.ts')];
    expect(layerViolations(fine, layers)).toEqual([]);
    expect(unitLoops(fine)).toEqual([]);
  });

  it('catch an upward and a sideways import', () => {
    const up = edge('low/b.ts', 'mid/a.ts');
    const sideways = edge('low/b.ts', 'side/s.ts');
    expect(layerViolations([up, sideways, edge('mid/a.ts', 'low/b.ts')], layers)).toEqual([up, sideways]);
  });

  it('let an allowed import through, and only that one', () => {
    const up = edge('low/b.ts', 'mid/a.ts');
    const other = edge('low/c.ts', 'mid/a.ts');
    expect(layerViolations([up, other], layers, [{ ...up, why: 'test' }])).toEqual([other]);
  });

  it('catch a loop between folders, however long', () => {
    const loop = [edge('low/b.ts', 'mid/a.ts'), edge('mid/a.ts', 'top.ts'), edge('top.ts', 'low/c.ts')];
    expect(unitLoops(loop)).toEqual([['low', 'mid', 'top.ts']]);
    expect(unitLoops([edge('mid/a.ts', 'low/b.ts'), edge('low/c.ts', 'mid/d.ts')])).toEqual([['low', 'mid']]);
  });

  it('name folders nobody declared', () => {
    expect(undeclaredUnits(['low', 'new', 'top.ts', 'other.ts'], layers)).toEqual(['new', 'other.ts']);
  });

  it('resolve relative imports of the real tree to src/ paths', () => {
    expect(edges).toContainEqual({ from: 'ops/readiness.ts', to: 'ops/marker-probe.ts' });
    expect(edges.every((e) => e.to.endsWith('.ts') && !e.to.startsWith('..'))).toBe(true);
  });
});
