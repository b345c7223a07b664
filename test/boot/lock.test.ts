/**
 * The lock file: a malformed lock never silently turns integrity checking off; pinned folders are
 * verified before import (changed, extra and missing files named), unpinned ones refused unless
 * allowed, and the load hook re-checks the bytes as they load. Seen through `loadExtensions`.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover } from '../../src/boot/discover.js';
import { integrityFailure, pinFolder, writeLock } from '../../src/boot/lock.js';
import { loadConfig } from '../../src/config.js';
import { loadExtensions } from '../../src/host/extensions.js';
import {
  markedPlugin as marked,
  pairPlugin,
  recordingLogger,
  uncachedProject as project,
  writeTree,
} from '../helpers/index.js';
import { lockProject } from '../helpers/lock.js';

const boot = (cwd: string, logger = recordingLogger()) => loadExtensions({ cwd, env: {}, logger });
const refusals = (ext: { rejected: { code: string; source: string }[] }) => ext.rejected.map((r) => [r.code, r.source]);
const LOCK = 'osml-extensions.lock.json';

describe('a malformed lock file is CONFIG_INVALID, never "no lock"', () => {
  const good = {
    'plugins/a/index.mjs': marked('a_type'),
  };

  it.each([
    ['truncated JSON', '{"lockfileVersion": 2, "plugins": [{"folder": "plugins/a", "integ'],
    ['an empty file', ''],
    ['another lockfileVersion', JSON.stringify({ lockfileVersion: 1, plugins: [] })],
    ['an unknown key', JSON.stringify({ lockfileVersion: 2, plugins: [], extra: true })],
    ['a pin without files', JSON.stringify({ lockfileVersion: 2, plugins: [{ folder: 'plugins/a', integrity: 'x' }] })],
    ['a __proto__ key', '{"lockfileVersion": 2, "plugins": [], "__proto__": {"polluted": true}}'],
    ['a constructor.prototype key', '{"lockfileVersion": 2, "plugins": [], "constructor": {"prototype": {}}}'],
  ])('%s: the boot fails, naming the lock file, and no plugin runs', async (_label, text) => {
    const dir = await project({ ...good, [LOCK]: text });
    let thrown: unknown;
    await boot(dir).catch((error: unknown) => (thrown = error));
    expect(thrown).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((thrown as Error).message).toContain(`Invalid configuration in ${LOCK}:`);
    expect((thrown as Error).message).toContain('`osml-extensions lock`');
    expect((thrown as Error).cause).toBeDefined();
    expect(existsSync(path.join(dir, 'plugins/a/RAN')), 'a plugin ran despite the broken lock').toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('the same file, complete, turns integrity checking on', async () => {
    const dir = await project(good);
    await lockProject(dir);
    expect((await boot(dir)).registry.isComplete('a_type')).toBe(true);
    await writeTree(dir, { 'plugins/a/index.mjs': marked('b_type') });
    expect(refusals(await boot(dir))).toEqual([['INTEGRITY_MISMATCH', 'plugins/a/index.mjs']]);
  });

  it('a lock file that is a folder is CONFIG_INVALID too, never "no lock"', async () => {
    const dir = await project(good);
    await writeTree(dir, { [`${LOCK}/.keep`]: '' });
    await expect(boot(dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(existsSync(path.join(dir, 'plugins/a/RAN'))).toBe(false);
  });

  it('no lock file at all: plugins load without pins', async () => {
    const dir = await project(good);
    const ext = await boot(dir);
    expect(ext.rejected).toEqual([]);
    expect(ext.registry.isComplete('a_type')).toBe(true);
  });
});

describe('verifying pins before import', () => {
  it('names changed, extra and missing files, and never runs the plugin', async () => {
    const dir = await project({
      'plugins/p/index.mjs': pairPlugin('p_type'),
      'plugins/p/helper.mjs': 'export const x = 1;',
      'plugins/p/data.json': '{}',
    });
    await lockProject(dir);
    await writeTree(dir, { 'plugins/p/index.mjs': marked('p_type'), 'plugins/p/extra.mjs': '' });
    await rm(path.join(dir, 'plugins/p/data.json'));
    const ext = await boot(dir);
    expect(refusals(ext)).toEqual([['INTEGRITY_MISMATCH', 'plugins/p/index.mjs']]);
    const pinned = JSON.parse(await readFile(path.join(dir, LOCK), 'utf8')) as { plugins: { integrity: string }[] };
    const now = await pinFolder(path.join(dir, 'plugins/p'), 'plugins/p');
    expect(ext.rejected[0]?.message).toContain(
      `(changed: index.mjs; extra: extra.mjs; missing: data.json; expected ${pinned.plugins[0]?.integrity.slice(0, 19)}…, got ${now.integrity.slice(0, 19)}…)`,
    );
    expect(existsSync(path.join(dir, 'plugins/p/RAN'))).toBe(false);
  });

  it.each([
    ['only a change', { 'plugins/p/index.mjs': pairPlugin('q_type') }, [], '(changed: index.mjs; expected'],
    ['only an extra file', { 'plugins/p/more.mjs': '' }, [], '(extra: more.mjs; expected'],
    ['only a missing file', {}, ['plugins/p/helper.mjs'], '(missing: helper.mjs; expected'],
  ])('%s is described alone', async (_label, write: Record<string, string>, remove: string[], detail) => {
    const dir = await project({ 'plugins/p/index.mjs': pairPlugin('p_type'), 'plugins/p/helper.mjs': '1' });
    await lockProject(dir);
    await writeTree(dir, write);
    for (const file of remove) await rm(path.join(dir, file));
    const ext = await boot(dir);
    expect(ext.rejected[0]?.message).toContain(detail);
  });

  it('refuses an unpinned plugin unless allowUnpinned, which loads it with a warning', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a_type') });
    await lockProject(dir);
    await writeTree(dir, { 'plugins/new/index.mjs': marked('new_type') });
    const refused = await boot(dir);
    expect(refusals(refused)).toEqual([['UNPINNED', 'plugins/new/index.mjs']]);
    expect(existsSync(path.join(dir, 'plugins/new/RAN'))).toBe(false);
    expect(refused.registry.isComplete('a_type')).toBe(true);

    await writeTree(dir, { 'osml-extensions.config.json': JSON.stringify({ cache: false, allowUnpinned: true }) });
    const logger = recordingLogger();
    const allowed = await boot(dir, logger);
    expect(allowed.rejected).toEqual([]);
    expect(allowed.registry.isComplete('new_type')).toBe(true);
    expect(logger.lines.filter((l) => l.obj['event'] === 'plugin.unpinned')).toEqual([
      {
        level: 'warn',
        obj: { event: 'plugin.unpinned', source: 'plugins/new/index.mjs', code: 'UNPINNED' },
        msg: expect.stringContaining('allowUnpinned'),
      },
    ]);
  });

  it('reports a pinned folder that is gone as drift', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a_type'), 'plugins/b/index.mjs': pairPlugin('b') });
    await lockProject(dir);
    await rm(path.join(dir, 'plugins/b'), { recursive: true });
    const ext = await boot(dir);
    expect(refusals(ext)).toEqual([['INTEGRITY_MISMATCH', 'plugins/b']]);
    expect(ext.registry.isComplete('a_type')).toBe(true);
  });

  it('re-checks the bytes at load: a file rewritten after verification is refused and never runs', async () => {
    const victim = `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./SWAPPED-RAN', import.meta.url), '');
${pairPlugin('victim')}`;
    const dir = await project({
      // Sorted first, imported first (concurrency 1): rewrites b-victim after both were verified.
      'plugins/a-swapper/index.mjs': `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../b-victim/index.mjs', import.meta.url), ${JSON.stringify(victim)});
${pairPlugin('swapper')}`,
      'plugins/b-victim/index.mjs': pairPlugin('victim'),
    });
    await lockProject(dir);
    const ext = await loadExtensions({ cwd: dir, env: {}, concurrency: 1 });
    expect(refusals(ext)).toEqual([['INTEGRITY_MISMATCH', 'plugins/b-victim/index.mjs']]);
    expect(ext.rejected[0]?.message).toContain('a file changed after it was verified');
    // Digest prefixes, as for a mismatch found before the import: `sha512-` and 12 characters.
    expect(ext.rejected[0]?.message).toMatch(/; expected sha512-[A-Za-z0-9+/]{12}…, got sha512-[A-Za-z0-9+/]{12}…\)/);
    expect(ext.rejected[0]?.error.cause).toMatchObject({ code: 'ERR_OSML_INTEGRITY' });
    expect(existsSync(path.join(dir, 'plugins/b-victim/SWAPPED-RAN'))).toBe(false);
    expect(ext.registry.isComplete('swapper')).toBe(true);
  });
});

describe('pinFolder and writeLock', () => {
  it('pins every file, node_modules and dot files included, sorted by code point, with a digest each', async () => {
    const dir = await project({
      'plugins/p/index.mjs': 'a',
      'plugins/p/B.mjs': 'b',
      'plugins/p/.hidden': 'c',
      'plugins/p/sub/x.mjs': 'd',
      'plugins/p/node_modules/dep/index.js': 'e',
    });
    const pin = await pinFolder(path.join(dir, 'plugins/p'), 'plugins/p');
    expect(pin.folder).toBe('plugins/p');
    expect(pin.files.map(([file]) => file)).toEqual([
      '.hidden',
      'B.mjs',
      'index.mjs',
      'node_modules/dep/index.js',
      'sub/x.mjs',
    ]);
    for (const [, digest] of pin.files) expect(digest).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(pin.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(new Set(pin.files.map(([, d]) => d)).size).toBe(5);
    // Every byte and every name counts, in node_modules too.
    for (const [file, content] of [
      ['plugins/p/node_modules/dep/index.js', 'changed'],
      ['plugins/p/.hidden', 'C'],
    ] as const) {
      const before = (await pinFolder(path.join(dir, 'plugins/p'), 'plugins/p')).integrity;
      await writeTree(dir, { [file]: content });
      expect((await pinFolder(path.join(dir, 'plugins/p'), 'plugins/p')).integrity).not.toBe(before);
    }
  });

  it('tells a moved byte from a renamed file (name and length are part of the digest)', async () => {
    const one = await project({ 'plugins/p/ab': 'x', 'plugins/p/c': '' });
    const two = await project({ 'plugins/p/a': 'bx', 'plugins/p/c': '' });
    const three = await project({ 'plugins/p/ab': '', 'plugins/p/c': 'x' });
    const digests = await Promise.all(
      [one, two, three].map(async (d) => (await pinFolder(path.join(d, 'plugins/p'), 'p')).integrity),
    );
    expect(new Set(digests).size).toBe(3);
  });

  it('pins a symlink by its target text and by the bytes it leads to', async () => {
    const dir = await project({ 'plugins/p/index.mjs': '1', 'plugins/p/t1.mjs': 'same', 'plugins/p/t2.mjs': 'same' });
    await symlink('t1.mjs', path.join(dir, 'plugins/p/link.mjs'));
    const before = await pinFolder(path.join(dir, 'plugins/p'), 'p');
    await rm(path.join(dir, 'plugins/p/link.mjs'));
    await symlink('t2.mjs', path.join(dir, 'plugins/p/link.mjs'));
    const repointed = await pinFolder(path.join(dir, 'plugins/p'), 'p');
    expect(repointed.integrity).not.toBe(before.integrity);
    expect(repointed.files).toEqual(before.files);
  });

  it('pins a symlink to a folder as the link alone', async () => {
    const dir = await project({ 'plugins/p/index.mjs': '1', 'plugins/p/real/x.mjs': '2' });
    await symlink('real', path.join(dir, 'plugins/p/alias'));
    const pin = await pinFolder(path.join(dir, 'plugins/p'), 'p');
    expect(pin.files.map(([f]) => f)).toEqual(['alias', 'index.mjs', 'real/x.mjs']);
  });

  it('writes one pin per folder, keyed relative to the lock file, sorted, as readable JSON', async () => {
    const dir = await project({
      'plugins/zeta/index.mjs': pairPlugin('zeta'),
      'plugins/alpha/index.mjs': pairPlugin('alpha'),
      'more/mid/index.mjs': pairPlugin('mid'),
    });
    const config = await loadConfig({ cwd: dir, env: {}, overrides: { pluginDirs: ['plugins', 'more'] } });
    const { plugins } = await discover({ roots: config.pluginDirs, cwd: dir });
    const pins = await writeLock(config, plugins);
    const text = await readFile(path.join(dir, LOCK), 'utf8');
    const data = JSON.parse(text) as { lockfileVersion: number; plugins: { folder: string }[] };
    expect(data.lockfileVersion).toBe(2);
    expect(data.plugins.map((p) => p.folder)).toEqual(['more/mid', 'plugins/alpha', 'plugins/zeta']);
    expect(pins.map((p) => p.folder)).toEqual(['more/mid', 'plugins/alpha', 'plugins/zeta']);
    expect(text).toBe(`${JSON.stringify(data, null, 2)}\n`);
  });

  it('replaces the lock file whole: never writes through a symlink planted in its place, leaves no temp file', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a'), 'elsewhere.txt': 'precious' });
    await symlink('elsewhere.txt', path.join(dir, LOCK));
    await lockProject(dir);
    expect(await readFile(path.join(dir, 'elsewhere.txt'), 'utf8')).toBe('precious');
    expect((await lstat(path.join(dir, LOCK))).isFile()).toBe(true);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect((await boot(dir)).registry.isComplete('a')).toBe(true);
  });
});

describe('integrityFailure', () => {
  it('recognises only the load hook’s failure, by its code', () => {
    const error = Object.assign(new Error('x'), {
      code: 'ERR_OSML_INTEGRITY',
      expected: 'sha512-a',
      actual: 'sha512-b',
    });
    expect(integrityFailure(error)).toEqual({
      expected: 'sha512-a',
      actual: 'sha512-b',
      detail: 'a file changed after it was verified',
    });
    expect(integrityFailure(Object.assign(error, { detail: 'an unpinned module' }))?.detail).toBe('an unpinned module');
    expect(integrityFailure(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBeUndefined();
    expect(integrityFailure(null)).toBeUndefined();
    expect(integrityFailure(undefined)).toBeUndefined();
    expect(integrityFailure('ERR_OSML_INTEGRITY')).toBeUndefined();
  });
});
