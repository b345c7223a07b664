/**
 * Plugin folders discovery cannot read, and what discovery reads. Tests run as root, which reads
 * any folder, so `readdir` is made to fail for chosen folders; the file-system calls are recorded
 * to check the cost of discovery without the cache's listing.
 */
import type { PathLike } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { discover } from '../../src/boot/discover.js';
import { tempDir, writeTree } from '../helpers/index.js';

/** Folders whose `readdir` fails, with the error it fails with. */
const failing = vi.hoisted(() => new Map<string, Error>());

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const readdir = (file: PathLike, ...rest: unknown[]): Promise<unknown> => {
    const error = failing.get(String(file));
    if (error !== undefined) return Promise.reject(error);
    return (real.readdir as (file: PathLike, ...rest: unknown[]) => Promise<unknown>)(file, ...rest);
  };
  return { ...real, readdir: vi.fn(readdir), stat: vi.fn(real.stat) };
});

afterEach(() => {
  failing.clear();
  vi.clearAllMocks();
});

const errno = (code: string | undefined): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code ?? 'unknown'}: simulated failure, scandir`), code === undefined ? {} : { code });

describe('a plugin folder that cannot be read', () => {
  it('is refused as PERMISSION_DENIED when access is denied, else as having no entry, and the rest go on', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    const names = ['eacces', 'eio', 'eperm', 'no-code', 'ok'];
    await writeTree(root, Object.fromEntries(names.map((name) => [`${name}/index.mjs`, ''])));
    const errors = { eacces: errno('EACCES'), eio: errno('EIO'), eperm: errno('EPERM'), 'no-code': errno(undefined) };
    for (const [name, error] of Object.entries(errors)) failing.set(path.join(root, name), error);
    const { plugins, rejected } = await discover({ roots: [root], cwd, withFiles: true });
    expect(plugins.map((p) => p.name)).toEqual(['ok']);
    expect(rejected.map((r) => [r.code, r.source, r.error.params])).toEqual([
      ['PERMISSION_DENIED', 'plugins/eacces', { folder: 'plugins/eacces', problem: expect.stringContaining('EACCES') }],
      ['ENTRY_NOT_FOUND', 'plugins/eio', { folder: 'plugins/eio', tried: ['(the folder could not be read: EIO)'] }],
      ['PERMISSION_DENIED', 'plugins/eperm', { folder: 'plugins/eperm', problem: expect.stringContaining('EPERM') }],
      [
        'ENTRY_NOT_FOUND',
        'plugins/no-code',
        { folder: 'plugins/no-code', tried: ['(the folder could not be read: error)'] },
      ],
    ]);
    expect(rejected[0]?.error.cause).toBe(errors.eacces);
    expect(rejected[2]?.error.cause).toBe(errors.eperm);
  });
});

describe('what discovery reads', () => {
  it('without the cache’s listing: each plugin folder once, and no file in it', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    await writeTree(root, { 'a/index.mjs': '', 'a/helper.mjs': '', 'a/lib/x.mjs': '', 'b/index.mjs': '' });
    vi.clearAllMocks();
    const { plugins } = await discover({ roots: [root], cwd });
    expect(plugins.map((p) => p.name)).toEqual(['a', 'b']);
    expect({
      readdir: vi
        .mocked(fs.readdir)
        .mock.calls.map(([dir]) => String(dir))
        .sort(),
      stat: vi.mocked(fs.stat).mock.calls.map(([file]) => String(file)),
    }).toEqual({ readdir: [path.join(root, 'a'), path.join(root, 'b')], stat: [root] });
  });
});
