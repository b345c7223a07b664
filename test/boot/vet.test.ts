/**
 * Vetting: what is refused before any plugin code runs — an entry outside its own folder, an
 * oversized entry, unsafe ownership or modes. Seen through the public `loadExtensions` (what a host
 * observes: the refusal, and that the code never ran) and through `vet` itself for the edges.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover, type PluginCandidate } from '../../src/boot/discover.js';
import { isInside, vet } from '../../src/boot/vet.js';
import type { ResolvedConfig } from '../../src/config.js';
import { loadExtensions } from '../../src/host/extensions.js';
import {
  makeConfig,
  markedPlugin as marked,
  pairPlugin,
  recordingLogger,
  uncachedProject as project,
} from '../helpers/index.js';

/** A uid that owns nothing on this machine: "another user". */
const STRANGER = 12345;

const boot = (cwd: string) => loadExtensions({ cwd, env: {} });
const refusals = (ext: { rejected: { code: string; source: string }[] }) => ext.rejected.map((r) => [r.code, r.source]);

/** Discover and vet the plugins of `dir` (a `plugins` root) with `patch` applied to the config. */
async function vetIn(dir: string, patch: Partial<ResolvedConfig> = {}, withFiles = false) {
  const config = makeConfig({ cwd: dir, pluginDirs: [path.join(dir, 'plugins')], ...patch });
  const { plugins } = await discover({ roots: config.pluginDirs, cwd: dir, withFiles });
  const logger = recordingLogger();
  return { ...(await vet(plugins, config, undefined, logger)), logger, candidates: plugins };
}

describe('isInside: containment by whole path segments', () => {
  it.each([
    ['/srv/plugins', '/srv/plugins', true],
    ['/srv/plugins', '/srv/plugins/a/index.mjs', true],
    ['/srv/plugins', '/srv/plugins/a..b.mjs', true],
    ['/srv/plugins/', '/srv/plugins/a.mjs', true],
    ['/srv/plugins', '/srv/plugins-evil/x.mjs', false],
    ['/srv/plugins', '/srv/pluginsx', false],
    ['/srv/plugins/a', '/srv/plugins/ab/x.mjs', false],
    ['/srv/plugins', '/srv', false],
    ['/srv/plugins', '/other/plugins', false],
  ])('isInside(%s, %s) is %s', (parent, child, expected) => {
    expect(isInside(parent, child)).toBe(expected);
  });
});

describe('an entry outside its own plugin folder', () => {
  it('"main": "../ab/x.mjs" does not reach into the sibling folder ab: PATH_ESCAPE, never run', async () => {
    const dir = await project({
      'plugins/a/package.json': JSON.stringify({ main: '../ab/x.mjs' }),
      'plugins/ab/index.mjs': pairPlugin('ab_type'),
      'plugins/ab/x.mjs': marked('sneaky'),
    });
    const ext = await boot(dir);
    expect(refusals(ext)).toEqual([['PATH_ESCAPE', 'plugins/ab/x.mjs']]);
    expect(ext.rejected[0]?.message).toContain('plugins/a ');
    expect(existsSync(path.join(dir, 'plugins/ab/RAN')), 'the escaping entry ran').toBe(false);
    expect(ext.registry.requestTypes()).not.toContain('sneaky');
    expect(ext.registry.isComplete('ab_type')).toBe(true);
  });

  it('admits an entry in a subfolder, and a symlink that stays inside the folder', async () => {
    const dir = await project({
      'plugins/deep/package.json': JSON.stringify({ main: 'lib/x/entry.mjs' }),
      'plugins/deep/lib/x/entry.mjs': pairPlugin('deep'),
      'plugins/linked/real.mjs': pairPlugin('linked'),
    });
    await symlink('real.mjs', path.join(dir, 'plugins/linked/index.mjs'));
    const ext = await boot(dir);
    expect(ext.rejected).toEqual([]);
    expect(ext.registry.isComplete('deep')).toBe(true);
    expect(ext.registry.isComplete('linked')).toBe(true);
  });

  it('refuses a symlinked entry that leads to a sibling folder, with or without the cache’s stats', async () => {
    for (const withFiles of [false, true]) {
      const dir = await project({ 'plugins/ab/index.mjs': pairPlugin('ab'), 'plugins/a/.keep': '' });
      await symlink('../ab/index.mjs', path.join(dir, 'plugins/a/index.mjs'));
      const { plugins, rejected } = await vetIn(dir, {}, withFiles);
      expect(rejected.map((r) => [r.code, r.source])).toEqual([['PATH_ESCAPE', 'plugins/a/index.mjs']]);
      expect(rejected[0]?.message).toContain('plugins/ab/index.mjs');
      expect(plugins.map((p) => [p.name, p.realEntry])).toEqual([['ab', path.join(dir, 'plugins/ab/index.mjs')]]);
    }
  });
});

describe('ownership and modes (permissions: "strict")', () => {
  it('refuses an entry owned by another user, and never runs it', async () => {
    const dir = await project({
      'plugins/theirs/index.mjs': marked('theirs'),
      'plugins/ours/index.mjs': pairPlugin('ours'),
    });
    await chown(path.join(dir, 'plugins/theirs/index.mjs'), STRANGER, STRANGER);
    const ext = await boot(dir);
    expect(refusals(ext)).toEqual([['INSECURE_PERMISSIONS', 'plugins/theirs/index.mjs']]);
    expect(ext.rejected[0]?.message).toContain('owned by another user');
    expect(ext.rejected[0]?.message).toContain(`owner uid ${STRANGER}`);
    expect(existsSync(path.join(dir, 'plugins/theirs/RAN')), 'the foreign entry ran').toBe(false);
    expect(ext.registry.isComplete('ours')).toBe(true);
  });

  it('refuses an entry below a folder owned by another user, naming that folder', async () => {
    const dir = await project({
      'plugins/p/package.json': JSON.stringify({ main: 'lib/x/entry.mjs' }),
      'plugins/p/lib/x/entry.mjs': pairPlugin('p_type'),
    });
    await chown(path.join(dir, 'plugins/p/lib'), STRANGER, STRANGER);
    const ext = await boot(dir);
    expect(refusals(ext)).toEqual([['INSECURE_PERMISSIONS', 'plugins/p/lib/x/entry.mjs']]);
    expect(ext.rejected[0]?.message).toContain('plugins/p/lib is owned by another user');
  });

  it('does not look above the plugin root: a foreign-owned root is the operator’s choice', async () => {
    const dir = await project({ 'plugins/p/index.mjs': pairPlugin('p_type') });
    await chown(path.join(dir, 'plugins'), STRANGER, STRANGER);
    expect((await boot(dir)).rejected).toEqual([]);
  });

  it('refuses a world-writable entry or folder, but not a sticky world-writable folder', async () => {
    const dir = await project({
      'plugins/open/index.mjs': pairPlugin('open_type'),
      'plugins/nested/package.json': JSON.stringify({ main: 'lib/entry.mjs' }),
      'plugins/nested/lib/entry.mjs': pairPlugin('nested'),
      'plugins/sticky/package.json': JSON.stringify({ main: 'tmp/entry.mjs' }),
      'plugins/sticky/tmp/entry.mjs': pairPlugin('sticky'),
    });
    await chmod(path.join(dir, 'plugins/open/index.mjs'), 0o646);
    await chmod(path.join(dir, 'plugins/nested/lib'), 0o777);
    await chmod(path.join(dir, 'plugins/sticky/tmp'), 0o1777);
    const { plugins, rejected } = await vetIn(dir);
    expect(rejected.map((r) => [r.code, r.source])).toEqual([
      ['INSECURE_PERMISSIONS', 'plugins/nested/lib/entry.mjs'],
      ['INSECURE_PERMISSIONS', 'plugins/open/index.mjs'],
    ]);
    expect(rejected[0]?.message).toContain('plugins/nested/lib is writable by every user (mode 0777');
    expect(rejected[1]?.message).toContain('plugins/open/index.mjs is writable by every user (mode 0646');
    expect(plugins.map((p) => p.name)).toEqual(['sticky']);
  });

  it('a sticky bit does not excuse a world-writable file', async () => {
    const dir = await project({ 'plugins/p/index.mjs': pairPlugin('p_type') });
    await chmod(path.join(dir, 'plugins/p/index.mjs'), 0o1666);
    const { rejected } = await vetIn(dir, {}, true);
    expect(rejected.map((r) => r.code)).toEqual(['INSECURE_PERMISSIONS']);
  });

  it('"warn" admits the plugin and logs why; "off" admits it silently', async () => {
    const dir = await project({ 'plugins/theirs/index.mjs': pairPlugin('theirs') });
    await chown(path.join(dir, 'plugins/theirs/index.mjs'), STRANGER, STRANGER);
    const warned = await vetIn(dir, { permissions: 'warn' });
    expect(warned.rejected).toEqual([]);
    expect(warned.plugins.map((p) => p.name)).toEqual(['theirs']);
    expect(warned.logger.lines).toEqual([
      {
        level: 'warn',
        obj: {
          event: 'plugin.insecure',
          source: 'plugins/theirs/index.mjs',
          code: 'INSECURE_PERMISSIONS',
          message: expect.stringContaining('owned by another user'),
        },
        msg: expect.stringContaining('permissions: "warn"'),
      },
    ]);
    const off = await vetIn(dir, { permissions: 'off' });
    expect(off.rejected).toEqual([]);
    expect(off.plugins.map((p) => p.name)).toEqual(['theirs']);
    expect(off.logger.lines).toEqual([]);
  });
});

describe('entry size', () => {
  it('admits an entry of exactly maxEntryBytes and refuses one byte more', async () => {
    const body = pairPlugin('sized');
    const dir = await project({ 'plugins/p/index.mjs': body });
    for (const withFiles of [false, true]) {
      const exact = await vetIn(dir, { maxEntryBytes: body.length }, withFiles);
      expect(exact.rejected).toEqual([]);
      const under = await vetIn(dir, { maxEntryBytes: body.length - 1 }, withFiles);
      expect(under.rejected.map((r) => r.code)).toEqual(['ENTRY_TOO_LARGE']);
      expect(under.rejected[0]?.message).toContain(`is ${body.length} bytes`);
      expect(under.plugins).toEqual([]);
    }
  });
});

describe('vet: collect, then report', () => {
  it('keeps discovery order and returns each admitted candidate with its real entry', async () => {
    const dir = await project({
      'plugins/b/index.mjs': pairPlugin('b'),
      'plugins/a/index.mjs': pairPlugin('a'),
      'plugins/c/index.mjs': pairPlugin('c'),
    });
    await chmod(path.join(dir, 'plugins/b/index.mjs'), 0o666);
    const { plugins, rejected, candidates } = await vetIn(dir, {}, true);
    expect(plugins.map((p) => p.name)).toEqual(['a', 'c']);
    expect(plugins[0]).toEqual({ ...candidates[0], realEntry: path.join(dir, 'plugins/a/index.mjs') });
    expect(rejected.map((r) => [r.code, r.source, r.level])).toEqual([
      ['INSECURE_PERMISSIONS', 'plugins/b/index.mjs', 'error'],
    ]);
  });

  it('a file-system error in one plugin (a symlink loop) refuses that plugin only', async () => {
    const dir = await project({ 'plugins/loop/.keep': '', 'plugins/ok/index.mjs': pairPlugin('ok') });
    await symlink('index.mjs', path.join(dir, 'plugins/loop/index.mjs'));
    const { plugins, rejected } = await vetIn(dir);
    expect(rejected.map((r) => [r.code, r.source, r.level])).toEqual([
      ['PERMISSION_DENIED', 'plugins/loop/index.mjs', 'error'],
    ]);
    expect(rejected[0]?.message).toContain('plugins/loop');
    expect(rejected[0]?.message).toContain('ELOOP');
    expect(rejected[0]?.message).not.toContain(dir);
    expect(rejected[0]?.error.cause).toMatchObject({ code: 'ELOOP' });
    // Vetting runs before any import, so a refused plugin has declared no request type.
    expect(rejected[0]?.requestTypes).toEqual([]);
    expect(plugins.map((p) => p.name)).toEqual(['ok']);
  });

  it('an entry deleted between discovery and vetting is VANISHED, a warning', async () => {
    for (const withFiles of [false, true]) {
      const dir = await project({
        'plugins/gone/index.mjs': pairPlugin('gone'),
        'plugins/ok/index.mjs': pairPlugin('ok'),
      });
      const config = makeConfig({ cwd: dir, pluginDirs: [path.join(dir, 'plugins')] });
      const { plugins: found } = await discover({ roots: config.pluginDirs, cwd: dir, withFiles });
      await rm(path.join(dir, 'plugins/gone'), { recursive: true });
      // With the cache's stats the plain entry is not stat'ed again; make it look unknown so it is.
      const candidates: PluginCandidate[] = found.map((c) => (withFiles ? { ...c, files: [] } : c));
      const { plugins, rejected } = await vet(candidates, config, undefined, recordingLogger());
      expect(rejected.map((r) => [r.code, r.source, r.level])).toEqual([
        ['VANISHED', 'plugins/gone/index.mjs', 'warn'],
      ]);
      expect(rejected[0]?.error.cause).toMatchObject({ code: 'ENOENT' });
      expect(plugins.map((p) => p.name)).toEqual(['ok']);
    }
  });
});
