import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover } from '../../src/boot/discover.js';
import { fixture, tempDir, writeTree } from '../helpers/index.js';

const MARKER = 'IMPORTED';

describe('discover', () => {
  it('finds direct subfolders with their entries, sorted, and imports nothing', async () => {
    const cwd = fixture('mixed');
    const { plugins, rejected } = await discover({ roots: [path.join(cwd, 'plugins')], cwd });
    expect(rejected).toEqual([]);
    expect(plugins.map((p) => p.source)).toEqual([
      'plugins/commonjs/index.cjs',
      'plugins/decorated/index.mjs',
      'plugins/default-array/index.mjs',
      'plugins/named-exports/index.mjs',
      'plugins/pkg-exports/src/main.mjs',
      'plugins/pkg-main/lib/entry.js',
    ]);
    for (const skipped of ['_private', '.hidden', 'node_modules']) {
      expect(existsSync(path.join(cwd, 'plugins', skipped, MARKER))).toBe(false);
    }
  });

  it('sorts by code point, not by locale or filesystem order', async () => {
    const dir = await tempDir();
    for (const name of ['b', 'B', 'a', 'Z', 'é', '10', '9'])
      await writeTree(dir, { [`plugins/${name}/index.mjs`]: 'export default {};' });
    const { plugins } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    expect(plugins.map((p) => p.name)).toEqual(['10', '9', 'B', 'Z', 'a', 'b', 'é']);
  });

  it('keeps roots in the given order', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'z-root/a/index.mjs': '', 'a-root/b/index.mjs': '' });
    const { plugins } = await discover({ roots: [path.join(dir, 'z-root'), path.join(dir, 'a-root')], cwd: dir });
    expect(plugins.map((p) => p.source)).toEqual(['z-root/a/index.mjs', 'a-root/b/index.mjs']);
  });

  it('prefers index.js, then index.mjs, then index.cjs', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'p/all/index.js': '',
      'p/all/index.mjs': '',
      'p/all/index.cjs': '',
      'p/two/index.mjs': '',
      'p/two/index.cjs': '',
      'p/one/index.cjs': '',
    });
    const { plugins } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.source)).toEqual(['p/all/index.js', 'p/one/index.cjs', 'p/two/index.mjs']);
  });

  it('follows package.json: exports string, exports["."] conditions, then main, then index files', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'p/a/package.json': JSON.stringify({ exports: './lib/a.mjs', main: 'no.js' }),
      'p/a/lib/a.mjs': '',
      'p/b/package.json': JSON.stringify({ exports: { '.': { node: { import: './b.mjs' }, default: './no.js' } } }),
      'p/b/b.mjs': '',
      'p/c/package.json': JSON.stringify({ main: 'c.cjs' }),
      'p/c/c.cjs': '',
      'p/c/index.js': '',
      'p/d/package.json': JSON.stringify({ name: 'no-entry-fields' }),
      'p/d/index.mjs': '',
    });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(rejected).toEqual([]);
    expect(plugins.map((p) => p.source)).toEqual(['p/a/lib/a.mjs', 'p/b/b.mjs', 'p/c/c.cjs', 'p/d/index.mjs']);
  });

  it('reports a folder without an entry and a package.json naming a missing file, and keeps the rest', async () => {
    const cwd = fixture('error-no-entry');
    const { plugins, rejected } = await discover({ roots: [path.join(cwd, 'plugins')], cwd });
    expect(plugins.map((p) => p.name)).toEqual(['good']);
    expect(rejected.map((r) => [r.code, r.source])).toEqual([
      ['ENTRY_NOT_FOUND', 'plugins/empty'],
      ['ENTRY_NOT_FOUND', 'plugins/wrong-main'],
    ]);
    expect(rejected[1]?.message).toContain('plugins/wrong-main/dist/missing.js');
  });

  it('reports malformed package.json with PACKAGE_JSON_INVALID', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'p/bad/package.json': '{ nope', 'p/num/package.json': '{"main": 5}', 'p/ok/index.mjs': '' });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.name)).toEqual(['ok']);
    expect(rejected.map((r) => [r.code, r.source])).toEqual([
      ['PACKAGE_JSON_INVALID', 'p/bad'],
      ['PACKAGE_JSON_INVALID', 'p/num'],
    ]);
    expect(rejected[1]?.message).toContain('p/num/package.json');
  });

  it('reports a missing or non-directory root: an error when named, a warning for the default', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'file'), '');
    const named = await discover({ roots: [path.join(dir, 'missing'), path.join(dir, 'file')], cwd: dir });
    expect(named.rejected.map((r) => [r.code, r.source, r.level])).toEqual([
      ['ROOT_INVALID', 'missing', 'error'],
      ['ROOT_INVALID', 'file', 'error'],
    ]);
    const byDefault = await discover({ roots: [path.join(dir, 'missing')], cwd: dir, rootsNamed: false });
    expect(byDefault.rejected[0]?.level).toBe('warn');
  });

  it('does not follow directory symlinks', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'elsewhere/linked/index.mjs': '', 'p/real/index.mjs': '' });
    await symlink(path.join(dir, 'elsewhere/linked'), path.join(dir, 'p/linked'));
    const { plugins } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.name)).toEqual(['real']);
  });

  it('finds nothing in an empty root without complaint', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'p'));
    expect(await discover({ roots: [path.join(dir, 'p')], cwd: dir })).toEqual({ plugins: [], rejected: [] });
  });
});
