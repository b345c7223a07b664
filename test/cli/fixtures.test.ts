/**
 * Every folder under test/fixtures/ run through the built CLI (`check --json --cwd <folder>`), in
 * the style of unjs/jiti's fixtures test: one test per folder, a snapshot of the document, and the
 * invariants every fixture must keep. `error-*` folders each hold one broken plugin beside a good
 * one; `mixed` holds every valid export form plus folders that must never be imported.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fg from 'fast-glob';
import { describe, expect, it } from 'vitest';
import type { ListDocument } from '../../src/cli/output.js';
import { ROOT, pairPlugin, runCli, tempDir, writeTree } from '../helpers/index.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');
// `hostile/` is a corpus of dangerous plugins (a never-settling import, a loop meant only for the
// worker probe, cases completed at test time): test/cli/hostile.test.ts runs it in a temp copy, never in place.
// `imagery/` holds the runner's test images and their GDAL oracle, not a plugin scenario.
const folders = fg
  .sync('*/', { cwd: FIXTURES, onlyDirectories: true })
  .map((dir) => dir.replace(/\/$/, ''))
  .filter((dir) => dir !== 'hostile' && dir !== 'imagery')
  .sort();

/** Replace absolute paths and file URLs (the fixture folder, then the repository) with `<root>`, anywhere in the document. */
function scrub<T>(value: T, dirs: string[]): T {
  if (typeof value === 'string') return dirs.reduce((s, dir) => s.split(dir).join('<root>'), value as string) as T;
  if (Array.isArray(value)) return value.map((item) => scrub(item, dirs)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, dirs)])) as T;
  }
  return value;
}

/** The handlers of `doc` that came from one source, by name, sorted. */
const namesFrom = (doc: ListDocument, source: string): string[] =>
  doc.handlers
    .filter((h) => h.source === source)
    .map((h) => h.name)
    .sort();

/** Folders in mixed/plugins that write an IMPORTED marker if anything imports them. */
const MUST_SKIP = ['_private', '.hidden', 'node_modules'];

describe('fixtures', () => {
  it('finds the fixture folders', () => {
    expect(folders).toContain('mixed');
    expect(folders.filter((f) => f.startsWith('error-')).length).toBeGreaterThan(0);
  });

  for (const name of folders) {
    it(name, async () => {
      const cwd = path.join(FIXTURES, name);
      const markers = MUST_SKIP.map((dir) => path.join(cwd, 'plugins', dir, 'IMPORTED'));
      await Promise.all(markers.map((m) => rm(m, { force: true }))); // a stale marker must not decide this run

      const result = await runCli(['check', '--json', '--cwd', cwd]);
      const doc = JSON.parse(result.stdout) as ListDocument;
      // Messages may quote absolute paths (e.g. Node's "imported from /abs/file"); keep the snapshot machine-independent.
      expect(scrub(doc, [pathToFileURL(cwd).href, cwd, pathToFileURL(ROOT).href, ROOT])).toMatchSnapshot();

      for (const h of doc.handlers) expect(h.source).toMatch(/^(builtin|plugins\/[^\\]+)$/);

      if (name.startsWith('error-')) {
        expect(result.code).toBe(1);
        // The one broken plugin is refused with a relative source under plugins/ that its message names...
        for (const r of doc.rejected) {
          expect(r.source).toMatch(/^plugins\/[^/\\]/);
          expect(path.isAbsolute(r.source)).toBe(false);
          expect(r.source).not.toContain('..');
          expect(r.message).toContain(r.source);
        }
        // ...or, for a half-declared pair (error-incomplete), the request type is reported incomplete:
        // an incomplete type is not a refused plugin, but `check` must still fail on it.
        const incomplete = Object.entries(doc.requestTypes).filter(([, t]) => !t.complete);
        if (name === 'error-incomplete') expect(incomplete.map(([t]) => t)).toEqual(['half']);
        else expect(doc.rejected.length).toBeGreaterThan(0);
        // Boot went on: the good plugin beside the broken one is registered.
        expect(namesFrom(doc, 'plugins/good/index.mjs')).toEqual(['good-image', 'good-region']);
        expect(doc.requestTypes['good']).toEqual({ complete: true });
      } else {
        expect(result.code).toBe(0);
        expect(doc.rejected).toEqual([]);
        expect(Object.values(doc.requestTypes).every((t) => t.complete)).toBe(true);
      }

      if (name === 'mixed') {
        for (const marker of markers)
          expect(existsSync(marker), `${path.relative(ROOT, marker)} must not exist`).toBe(false);
        // Decorated classes; the undecorated subclass NotAHandler inherits the manifest but is not a handler.
        expect(namesFrom(doc, 'plugins/decorated/index.mjs')).toEqual(['custom-image', 'custom-region']);
        expect(doc.handlers.find((h) => h.name === 'custom-region')).toMatchObject({
          description: 'Custom region handler',
          supportedEndpoints: ['http', 'sagemaker'],
        });
        expect(JSON.stringify(doc)).not.toMatch(/NotAHandler|not-a-handler/i);
        // `export default [...]`.
        expect(namesFrom(doc, 'plugins/default-array/index.mjs')).toEqual(['array-image', 'array-region']);
        // `export const manifest` + `export const manifests`.
        expect(namesFrom(doc, 'plugins/named-exports/index.mjs')).toEqual(['named-image', 'named-region']);
        // package.json "main" (beats the throwing index.mjs beside it).
        expect(namesFrom(doc, 'plugins/pkg-main/lib/entry.js')).toEqual(['pkg-main-region']);
        // package.json exports["."].import (beats "main": "wrong.js").
        expect(namesFrom(doc, 'plugins/pkg-exports/src/main.mjs')).toEqual(['pkg-exports-image']);
        // CommonJS `module.exports = { manifests }`.
        expect(namesFrom(doc, 'plugins/commonjs/index.cjs')).toEqual(['cjs-image', 'cjs-region']);
        // Nothing else: built-ins plus the forms above.
        expect(doc.handlers).toHaveLength(2 + 2 + 2 + 2 + 1 + 1 + 2);
      }
    });
  }

  // mixed/pkg-exports has no index.mjs, so prove `exports` beats an index file here.
  it('package.json exports["."].import beats "main" and index.mjs', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'plugins/pkg/package.json': JSON.stringify({
        exports: { '.': { import: './src/entry.mjs', require: './src/entry.cjs' } },
        main: 'main.mjs',
      }),
      'plugins/pkg/src/entry.mjs': pairPlugin('from_exports'),
      'plugins/pkg/main.mjs': "throw new Error('main must not be used when exports names the entry');",
      'plugins/pkg/index.mjs': "throw new Error('index.mjs must not be used when package.json names the entry');",
    });
    const result = await runCli(['check', '--json', '--cwd', dir]);
    const doc = JSON.parse(result.stdout) as ListDocument;
    expect(doc.rejected).toEqual([]);
    expect(namesFrom(doc, 'plugins/pkg/src/entry.mjs')).toEqual(['from-exports-image', 'from-exports-region']);
    expect(result.code).toBe(0);
  });
});
