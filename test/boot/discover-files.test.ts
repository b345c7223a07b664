/**
 * What discovery lists for the manifest cache (`withFiles`): every file of a plugin folder with its
 * stat, and a fingerprint of the root's shared `_*` folders. A change to any listed file must make
 * the cache miss, so the listing must hold every file (dot files, nested folders, symlinks) but
 * not `node_modules`, and never walk out of the folder through a symlink.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover, type FileStat } from '../../src/boot/discover.js';
import { tempDir, writeTree } from '../helpers/index.js';

/** What discovery should list for `rel` in `dir`: its (followed) stat, and `link` when given. */
async function listed(dir: string, rel: string, link?: boolean): Promise<FileStat> {
  const info = await stat(path.join(dir, rel));
  return {
    path: rel,
    size: info.size,
    mtimeMs: info.mtimeMs,
    ctimeMs: info.ctimeMs,
    mode: info.mode,
    uid: info.uid,
    ...(link === undefined ? {} : { link }),
  };
}

async function filesOf(root: string, cwd: string): Promise<Record<string, FileStat[] | undefined>> {
  const { plugins, rejected } = await discover({ roots: [root], cwd, withFiles: true });
  expect(rejected).toEqual([]);
  return Object.fromEntries(plugins.map((p) => [p.name, p.files]));
}

const sharedOf = async (root: string, cwd: string): Promise<string | undefined> =>
  (await discover({ roots: [root], cwd, withFiles: true })).plugins[0]?.shared;

/**
 * Move a chain of folders to `at` whose innermost path is longer than PATH_MAX, so that reading it
 * fails (ENAMETOOLONG, even for root). Built from the inside out, and taken apart the same way by
 * the returned function, because no single call may name a path that long.
 */
async function tooDeep(at: string): Promise<() => Promise<void>> {
  const staging = `${at}.staging`;
  const segment = 'd'.repeat(250);
  let inner = path.join(staging, 'innermost');
  await mkdir(inner, { recursive: true });
  await writeFile(path.join(inner, 'x.mjs'), '');
  for (let i = 0; i < 17; i++) {
    const outer = path.join(staging, `level${i}`);
    await mkdir(outer);
    await rename(inner, path.join(outer, segment));
    inner = outer;
  }
  await rename(inner, at);
  return async () => {
    let current = at;
    for (let i = 0; existsSync(path.join(current, segment)); i++) {
      const moved = path.join(staging, `undone${i}`);
      await rename(path.join(current, segment), moved);
      current = moved;
    }
  };
}

describe('the files discovery lists for the cache', () => {
  it('lists a flat folder: dot files and symlinks included, sorted, node_modules left out', async () => {
    const cwd = await tempDir();
    const dir = path.join(cwd, 'plugins/flat');
    await writeTree(dir, {
      'index.mjs': 'export default [];',
      'helper.mjs': 'export const x = 1;',
      '.env': 'A=1',
      'node_modules/dep/index.js': '',
    });
    await symlink('helper.mjs', path.join(dir, 'link.mjs'));
    await symlink('missing.mjs', path.join(dir, 'dangling'));
    const { flat } = await filesOf(path.join(cwd, 'plugins'), cwd);
    expect(flat).toStrictEqual([
      await listed(dir, '.env', false),
      // A file that cannot be stat'ed keeps -1, so it never matches what the cache recorded.
      { path: 'dangling', size: -1, mtimeMs: -1, ctimeMs: -1, link: true },
      await listed(dir, 'helper.mjs', false),
      await listed(dir, 'index.mjs', false),
      await listed(dir, 'link.mjs', true),
    ]);
  });

  it('lists nested files by their / path, without folders, node_modules or what a symlink leads to', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    await writeTree(cwd, {
      'outside/x.mjs': '',
      'plugins/nested/index.mjs': '',
      'plugins/nested/.hidden': 'h',
      'plugins/nested/.generated/g.mjs': 'g',
      'plugins/nested/lib/util.mjs': 'u',
      'plugins/nested/lib/deeper/x.mjs': 'x',
      'plugins/nested/lib/node_modules/z/index.js': '',
      'plugins/nested/node_modules/dep/index.js': '',
      'plugins/lib-only/index.mjs': '',
      'plugins/lib-only/lib/util.mjs': '',
      'plugins/dot-only/index.mjs': '',
      'plugins/dot-only/.generated/g.mjs': '',
    });
    const dir = path.join(root, 'nested');
    await mkdir(path.join(dir, 'lib/empty'));
    await symlink(path.join(cwd, 'outside'), path.join(dir, 'ext'));
    await symlink('../index.mjs', path.join(dir, 'lib/link.mjs'));
    const files = await filesOf(root, cwd);
    // Below the top level, whether a file is a symlink is not known: `link` is left out.
    expect(files['nested']).toStrictEqual([
      await listed(dir, '.generated/g.mjs'),
      await listed(dir, '.hidden', false),
      await listed(dir, 'ext', true),
      await listed(dir, 'index.mjs', false),
      await listed(dir, 'lib/deeper/x.mjs'),
      await listed(dir, 'lib/link.mjs'),
      await listed(dir, 'lib/util.mjs'),
    ]);
    expect(files['lib-only']?.map((f) => f.path)).toEqual(['index.mjs', 'lib/util.mjs']);
    expect(files['dot-only']?.map((f) => f.path)).toEqual(['.generated/g.mjs', 'index.mjs']);
  });

  it('lists nothing when not asked to', async () => {
    const cwd = await tempDir();
    await writeTree(cwd, { 'plugins/a/index.mjs': '', 'plugins/_shared/x.mjs': '' });
    const { plugins } = await discover({ roots: [path.join(cwd, 'plugins')], cwd });
    expect(plugins.map((p) => Object.keys(p).sort())).toEqual([['dir', 'entry', 'name', 'root', 'source']]);
  });

  it('goes on past a subfolder it cannot read, in a plugin folder or a shared one', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    await writeTree(root, { 'deep/index.mjs': '', '_shared/util.mjs': '' });
    const undo = [await tooDeep(path.join(root, 'deep/lib')), await tooDeep(path.join(root, '_shared/lib'))];
    try {
      const { plugins, rejected } = await discover({ roots: [root], cwd, withFiles: true });
      expect(rejected).toEqual([]);
      expect(plugins.map((p) => [p.name, p.files?.map((f) => f.path)])).toEqual([['deep', ['index.mjs']]]);
      expect(plugins[0]?.shared).toMatch(/./);
    } finally {
      for (const step of undo) await step();
    }
  });
});

describe('the fingerprint of shared folders', () => {
  it('is empty when the root has no shared folder, or only empty ones', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    await writeTree(root, { 'a/index.mjs': '', 'b/index.mjs': '' });
    const first = await discover({ roots: [root], cwd, withFiles: true });
    expect(first.plugins.map((p) => p.shared)).toEqual(['', '']);
    await mkdir(path.join(root, '_shared/sub'), { recursive: true });
    await mkdir(path.join(root, '_empty'));
    expect(await sharedOf(root, cwd)).toBe('');
  });

  it('changes with any file of a shared folder, nested, dot or symlink, but not in node_modules', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    await writeTree(root, {
      'a/index.mjs': '',
      '_shared/util.mjs': 'export const a = 1;',
      '_shared/node_modules/dep/index.js': 'one',
    });
    const seen = [await sharedOf(root, cwd)];
    expect(seen[0]).toMatch(/./);
    const changes: (() => Promise<unknown>)[] = [
      () => writeFile(path.join(root, '_shared/util.mjs'), 'export const a = 22;'),
      () => writeTree(root, { '_shared/deep/er/x.mjs': '' }),
      () => writeTree(root, { '_shared/.dot': '' }),
      () => writeTree(root, { '_other/y.mjs': '' }),
      () => symlink('util.mjs', path.join(root, '_shared/link.mjs')),
    ];
    for (const change of changes) {
      await change();
      const now = await sharedOf(root, cwd);
      expect(seen).not.toContain(now);
      seen.push(now);
    }
    await writeFile(path.join(root, '_shared/node_modules/dep/index.js'), 'changed');
    await writeTree(root, { '_shared/node_modules/dep/more.js': '' });
    expect(await sharedOf(root, cwd)).toBe(seen.at(-1));
  });

  it('counts a directory symlink as one entry and does not walk into it (it may lead anywhere)', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    await writeTree(cwd, { 'outside/x.mjs': 'one', 'plugins/a/index.mjs': '', 'plugins/_shared/util.mjs': '' });
    const before = await sharedOf(root, cwd);
    await symlink(path.join(cwd, 'outside'), path.join(root, '_shared/ext'));
    const linked = await sharedOf(root, cwd);
    expect(linked).not.toBe(before);
    // Rewriting a file behind the link leaves the linked folder's own stat alone.
    await writeFile(path.join(cwd, 'outside/x.mjs'), 'a different size');
    expect(await sharedOf(root, cwd)).toBe(linked);
  });
});
