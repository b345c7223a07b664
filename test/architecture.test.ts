/**
 * The layout's rules, checked: imports point one way between the folders of src/, and no module
 * imports itself through a cycle. A new folder must be given its layer here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/index.js';

/** Lower layers never import higher ones; folders on the same layer never import each other. */
const LAYER: Record<string, number> = {
  shared: 0,
  runner: 1,
  services: 2,
  handlers: 3,
  plugin: 4,
  'config.ts': 5,
  boot: 6,
  select: 7,
  host: 8,
  authoring: 8,
  cli: 9,
  'index.ts': 10,
  'testing.ts': 10,
  'bin.ts': 10,
};

const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? sourceFiles(path.join(dir, d.name)) : [path.join(dir, d.name)]))
    .filter((f) => f.endsWith('.ts'))
    .sort();
}

/** Relative imports (static, type-only and dynamic) of one file, as absolute `.ts` paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((spec) => path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
}

const folderOf = (file: string): string => path.relative(SRC, file).split(path.sep)[0]!;
const rel = (file: string): string => path.relative(ROOT, file);
const graph = new Map(sourceFiles(SRC).map((f) => [f, importsOf(f)]));

describe('the layout of src/', () => {
  it('gives every top-level folder and file a layer', () => {
    const unplaced = [...new Set([...graph.keys()].map(folderOf))].filter((f) => LAYER[f] === undefined);
    expect(unplaced).toEqual([]);
  });

  it('has no import from a lower layer to a higher one, nor across folders of one layer', () => {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      const from = folderOf(file);
      for (const target of imports) {
        const to = folderOf(target);
        if (to === from) continue;
        if (LAYER[to]! >= LAYER[from]!) wrong.push(`${rel(file)} -> ${rel(target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map(rel).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('resolves every relative import to a file that exists', () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports.filter((t) => !graph.has(t)).map((t) => `${rel(file)} -> ${rel(t)}`),
    );
    expect(missing).toEqual([]);
  });
});
