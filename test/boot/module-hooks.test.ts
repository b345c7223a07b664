/**
 * Module hooks cost a loader thread each: the lock's is registered once per process, and only
 * when a lock has verified something; live reload's once, on the first reload. `node:module`'s
 * `register` is observed, and still called through.
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:module', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:module')>();
  return { ...actual, register: vi.fn(actual.register) };
});

const { register } = await import('node:module');
const { loadExtensions } = await import('../../src/host/extensions.js');
const { discover } = await import('../../src/boot/discover.js');
const { loadPlugin } = await import('../../src/boot/load.js');
const { pairPlugin, uncachedProject: project, writeTree } = await import('../helpers/index.js');
const { lockProject } = await import('../helpers/lock.js');

/** Calls that registered the hook whose source holds `marker`. */
const hooks = (marker: string) =>
  vi.mocked(register).mock.calls.filter(([url]) => String(url).includes(encodeURIComponent(marker)));
const lockHooks = () => hooks('ERR_OSML_INTEGRITY');

describe('the reload hook is registered once, on the first reload', () => {
  // First in this file: the hooks are the process's, and the tests below reload too.
  it('none for a plain load, one for any number of reloads', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a_type') });
    const { plugins } = await discover({ roots: [`${dir}/plugins`], cwd: dir });
    const reloadHooks = () => hooks("searchParams.get('osml-reload')");
    await loadPlugin(plugins[0]!);
    expect(reloadHooks()).toEqual([]);
    for (const generation of ['1', '2', '3']) await loadPlugin(plugins[0]!, { reload: generation });
    expect(reloadHooks()).toHaveLength(1);
  });
});

describe('the lock hook is registered once, and only when something was verified', () => {
  it('no lock, and a lock whose plugins are all unpinned (allowUnpinned): no hook', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a_type') });
    expect((await loadExtensions({ cwd: dir, env: {} })).registry.isComplete('a_type')).toBe(true);
    await writeTree(dir, { 'osml-extensions.lock.json': JSON.stringify({ lockfileVersion: 2, plugins: [] }) });
    await writeTree(dir, { 'osml-extensions.config.json': JSON.stringify({ cache: false, allowUnpinned: true }) });
    expect((await loadExtensions({ cwd: dir, env: {} })).registry.isComplete('a_type')).toBe(true);
    expect(lockHooks()).toEqual([]);
  });

  it('two locked boots: one hook, handed the second boot’s pins', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a_type') });
    await lockProject(dir);
    expect((await loadExtensions({ cwd: dir, env: {}, reload: '1' })).rejected).toEqual([]);
    expect((await loadExtensions({ cwd: dir, env: {}, reload: '2' })).rejected).toEqual([]);
    expect(lockHooks()).toHaveLength(1);
  });
});
