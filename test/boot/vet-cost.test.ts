/**
 * What vetting costs in file-system calls, the contract behind a warm boot's speed (BENCHMARKS.md):
 * a plain entry that discovery already stat'ed for the cache costs none, one it did not costs one
 * lstat (besides the stat of its folder for the permission check), and each plugin root's real path is looked up once, not once per plugin.
 */
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs/promises';
import { discover } from '../../src/boot/discover.js';
import { vet } from '../../src/boot/vet.js';
import { makeConfig, pairPlugin, recordingLogger, tempDir, writeTree } from '../helpers/index.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, lstat: vi.fn(real.lstat), stat: vi.fn(real.stat), realpath: vi.fn(real.realpath) };
});

const calls = () => ({
  lstat: vi
    .mocked(fs.lstat)
    .mock.calls.map(([p]) => String(p))
    .sort(),
  stat: vi
    .mocked(fs.stat)
    .mock.calls.map(([p]) => String(p))
    .sort(),
  realpath: vi
    .mocked(fs.realpath)
    .mock.calls.map(([p]) => String(p))
    .sort(),
});

async function vetThree(withFiles: boolean) {
  const dir = await tempDir();
  await writeTree(dir, {
    'plugins/a/index.mjs': pairPlugin('a'),
    'plugins/b/index.mjs': pairPlugin('b'),
    'plugins/c/index.mjs': pairPlugin('c'),
  });
  const config = makeConfig({ cwd: dir, pluginDirs: [path.join(dir, 'plugins')], permissions: 'strict' });
  const { plugins: candidates } = await discover({ roots: config.pluginDirs, cwd: dir, withFiles });
  vi.clearAllMocks();
  const { plugins, rejected } = await vet(candidates, config, undefined, recordingLogger());
  expect(rejected).toEqual([]);
  expect(plugins.map((p) => p.realEntry)).toEqual(['a', 'b', 'c'].map((n) => path.join(dir, `plugins/${n}/index.mjs`)));
  return { dir, ...calls() };
}

/** The plugin folders, each stat'ed once for its own owner and mode. */
const folders = (dir: string) => ['a', 'b', 'c'].map((n) => path.join(dir, `plugins/${n}`));

beforeEach(() => {
  vi.clearAllMocks();
});

describe('the file-system calls vetting makes', () => {
  it('none per plain entry that discovery stat’ed; the root’s real path once', async () => {
    const { dir, lstat, stat, realpath } = await vetThree(true);
    expect({ lstat, stat, realpath }).toEqual({ lstat: [], stat: folders(dir), realpath: [path.join(dir, 'plugins')] });
  });

  it('one lstat per plain entry otherwise, and no realpath of the entry', async () => {
    const { dir, lstat, stat, realpath } = await vetThree(false);
    expect({ lstat, stat, realpath }).toEqual({
      lstat: ['a', 'b', 'c'].map((n) => path.join(dir, `plugins/${n}/index.mjs`)),
      stat: folders(dir),
      realpath: [path.join(dir, 'plugins')],
    });
  });
});
