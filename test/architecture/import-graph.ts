// The import graph of src/ folder by folder, and the two rules it must keep: no loop between folders, no import
// against the declared layer order. Pure functions over edges, so the rules themselves can be tested on made-up
// graphs (imports.unit.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';

/** One import between two src/ files, as paths relative to src/ with `/` separators (`ops/readiness.ts`). */
export interface ImportEdge {
  from: string;
  to: string;
}

/** Folders (or top-level files such as `sidecar.ts`) from lowest to highest; folders on one level are siblings. */
export type Layers = readonly (readonly string[])[];

/** An import that is allowed although it breaks the order, with the reason it is tolerated for now. */
export interface AllowedImport extends ImportEdge {
  why: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const toPosix = (path: string): string => path.split(sep).join('/');

/**
 * Every relative import, re-export and dynamic import of every file under `srcDir` (type-only ones too: they
 * couple folders as much as value imports do), parsed by TypeScript's own scanner rather than a regular expression.
 */
export function readImports(srcDir: string): ImportEdge[] {
  return sourceFiles(srcDir).flatMap((file) => {
    const found = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles;
    return found
      .map((ref) => ref.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({
        from: toPosix(relative(srcDir, file)),
        // NodeNext ESM imports name the compiled `.js`; the source is the `.ts` beside it.
        to: toPosix(relative(srcDir, normalize(join(dirname(file), specifier)))).replace(/\.js$/, '.ts'),
      }));
  });
}

/** The unit a file belongs to: its top folder under src/, or the file itself when it sits directly in src/. */
export function unitOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? path : path.slice(0, slash);
}

/** Units that take part in the graph but are not declared in `layers`. */
export function undeclaredUnits(units: Iterable<string>, layers: Layers): string[] {
  const declared = new Set(layers.flat());
  return [...new Set(units)].filter((unit) => !declared.has(unit)).sort();
}

function levelOf(layers: Layers): Map<string, number> {
  const level = new Map<string, number>();
  layers.forEach((units, i) => {
    for (const unit of units) level.set(unit, i);
  });
  return level;
}

const sameEdge = (a: ImportEdge, b: ImportEdge): boolean => a.from === b.from && a.to === b.to;

/**
 * Imports from a unit to one on its own level or above (sideways or upward), minus the allowed ones. Imports inside
 * one unit and imports of undeclared units are not judged here (`undeclaredUnits` reports those).
 */
export function layerViolations(
  edges: readonly ImportEdge[],
  layers: Layers,
  allowed: readonly AllowedImport[] = [],
): ImportEdge[] {
  const level = levelOf(layers);
  return edges.filter((edge) => {
    const from = unitOf(edge.from);
    const to = unitOf(edge.to);
    const a = level.get(from);
    const b = level.get(to);
    if (from === to || a === undefined || b === undefined || b < a) return false;
    return !allowed.some((ok) => sameEdge(ok, edge));
  });
}

/** Groups of units that import each other in a loop (strongly connected components of two or more units). */
export function unitLoops(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = unitOf(from);
    const b = unitOf(to);
    if (!next.has(a)) next.set(a, new Set());
    if (!next.has(b)) next.set(b, new Set());
    if (a !== b) next.get(a)!.add(b);
  }
  // Tarjan's algorithm; the graph has a dozen nodes, so recursion depth is no concern.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (unit: string): void => {
    index.set(unit, index.size);
    low.set(unit, index.get(unit)!);
    stack.push(unit);
    onStack.add(unit);
    for (const to of next.get(unit) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(unit, Math.min(low.get(unit)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(unit, Math.min(low.get(unit)!, index.get(to)!));
      }
    }
    if (low.get(unit) !== index.get(unit)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== unit);
    if (component.length > 1) loops.push(component.sort());
  };
  for (const unit of [...next.keys()].sort()) if (!index.has(unit)) visit(unit);
  return loops;
}

/** The order as one line, lowest first: `codec, config < kask < …` (the form docs/architecture.md shows). */
export function renderLayers(layers: Layers): string {
  return layers.map((units) => units.join(', ')).join(' < ');
}

export const describeEdge = (edge: ImportEdge): string => `${edge.from} imports ${edge.to}`;
