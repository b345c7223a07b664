/**
 * The manifest cache's library API, on the candidates discovery hands it: `lookup` answers only
 * when every file of the plugin folder is the one recorded (path, size, mtime and ctime), `record`
 * forgets a plugin whose import failed, and `prune` forgets plugins gone from any scanned root.
 */
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestCache, hashFile } from '../../src/boot/cache.js';
import { discover, type FileStat, type PluginCandidate } from '../../src/boot/discover.js';
import { loadPlugin } from '../../src/boot/load.js';
import { ExtensionError, toRejection } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/types.js';
import { pairPlugin, tempDir, writeTree } from '../helpers/index.js';

let generation = 0;

/** Every plugin of `roots` (relative to `dir`), with the file stats and shared fingerprint the cache keys on. */
async function candidates(dir: string, roots = ['plugins']): Promise<PluginCandidate[]> {
  const found = await discover({ roots: roots.map((r) => path.join(dir, r)), cwd: dir, withFiles: true });
  expect(found.rejected).toEqual([]);
  return found.plugins;
}

/** Import each candidate and record what it yielded in a cache saved under `dir/cache`. */
async function recordAll(dir: string, plugins: readonly PluginCandidate[]): Promise<string> {
  const cacheDir = path.join(dir, 'cache');
  const cache = await ManifestCache.open(cacheDir, silentLogger);
  for (const candidate of plugins) {
    const loaded = await loadPlugin(candidate, { reload: `l${++generation}` });
    const manifests = loaded.manifests.map(({ handler: _handler, ...info }) => info);
    cache.record(candidate, await hashFile(candidate.entry), manifests, loaded.rejected);
  }
  await cache.save();
  return cacheDir;
}

const names = async (cacheDir: string, candidate: PluginCandidate): Promise<string[] | undefined> =>
  (await (await ManifestCache.open(cacheDir, silentLogger)).lookup(candidate))?.manifests.map((m) => m.name);

/** Set `files` (relative to `dir`) a minute into the past: older than the racy window, so their times are trusted. */
async function age(dir: string, files: string[]): Promise<void> {
  const old = new Date(Date.now() - 60_000);
  for (const file of files) await utimes(path.join(dir, file), old, old);
}

describe('ManifestCache.lookup compares every file of the plugin folder', () => {
  const FILES = {
    // Sorts before the entry, and differs from it in size.
    'plugins/p/helper.mjs': 'export const helper = 1;\n',
    'plugins/p/index.mjs': pairPlugin('p_type'),
  };
  async function plugin(): Promise<{ dir: string; candidate: PluginCandidate; cacheDir: string }> {
    const dir = await writeTree(await tempDir(), FILES);
    await age(dir, Object.keys(FILES));
    const [candidate] = await candidates(dir);
    return { dir, candidate: candidate!, cacheDir: await recordAll(dir, [candidate!]) };
  }
  /** The candidate as discovery would see it with the helper file's stat changed by `patch`. */
  const withHelper = (candidate: PluginCandidate, patch: (f: FileStat) => FileStat): PluginCandidate => ({
    ...candidate,
    files: candidate.files!.map((f) => (f.path === 'helper.mjs' ? patch({ ...f }) : f)),
  });

  it('answers for an unchanged plugin with more than one file', async () => {
    const { dir, cacheDir } = await plugin();
    const [again] = await candidates(dir);
    expect(again!.files!.map((f) => f.path)).toEqual(['helper.mjs', 'index.mjs']);
    expect(await names(cacheDir, again!)).toEqual(['p-type-region', 'p-type-image']);
  });

  it.each<[string, (f: FileStat) => FileStat]>([
    ['has another name', (f) => ({ ...f, path: 'helper2.mjs' })],
    ['has another size', (f) => ({ ...f, size: f.size + 1 })],
    ['has another mtime', (f) => ({ ...f, mtimeMs: f.mtimeMs + 1 })],
    ['has another ctime', (f) => ({ ...f, ctimeMs: f.ctimeMs + 1 })],
  ])('misses when another file of the folder %s, all else equal', async (_what, patch) => {
    const { candidate, cacheDir } = await plugin();
    expect(await names(cacheDir, candidate)).toBeDefined();
    expect(await names(cacheDir, withHelper(candidate, patch))).toBeUndefined();
  });

  it('misses when a file was added to the folder, or one was removed', async () => {
    const { dir, cacheDir } = await plugin();
    // Sorts after every recorded file, so only the count tells it apart.
    await writeTree(dir, { 'plugins/p/zz-added.json': '{}' });
    const [added] = await candidates(dir);
    expect(added!.files!.map((f) => f.path)).toEqual(['helper.mjs', 'index.mjs', 'zz-added.json']);
    expect(await names(cacheDir, added!)).toBeUndefined();
    await rm(path.join(dir, 'plugins/p/zz-added.json'));
    await rm(path.join(dir, 'plugins/p/helper.mjs'));
    const [removed] = await candidates(dir);
    expect(await names(cacheDir, removed!)).toBeUndefined();
  });

  it('misses when the entry has another size, whatever its times', async () => {
    const { dir, candidate, cacheDir } = await plugin();
    await writeFile(candidate.entry, `${pairPlugin('p_type')}\n`);
    const [grown] = await candidates(dir);
    expect(await names(cacheDir, grown!)).toBeUndefined();
  });

  it('finds the entry in a subfolder of the plugin (package.json "main")', async () => {
    const files = {
      'plugins/p/package.json': '{"main": "lib/index.mjs"}',
      'plugins/p/lib/index.mjs': pairPlugin('p_type'),
    };
    const dir = await writeTree(await tempDir(), files);
    await age(dir, Object.keys(files));
    const [candidate] = await candidates(dir);
    expect(candidate!.files!.map((f) => f.path)).toEqual(['lib/index.mjs', 'package.json']);
    const cacheDir = await recordAll(dir, [candidate!]);
    expect(await names(cacheDir, candidate!)).toEqual(['p-type-region', 'p-type-image']);
  });

  it('misses, without failing, when a recent entry can no longer be read', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('p_type') });
    // Within the racy window, so the times alone cannot vouch for the content.
    const recent = new Date(Date.now() + 60_000);
    await utimes(path.join(dir, 'plugins/p/index.mjs'), recent, recent);
    const [candidate] = await candidates(dir);
    const cacheDir = await recordAll(dir, [candidate!]);
    await rm(candidate!.entry);
    expect(await names(cacheDir, candidate!)).toBeUndefined();
  });
});

describe('ManifestCache: the shared fingerprint', () => {
  it('matches a candidate that carries none with an entry recorded without one', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('p_type') });
    await age(dir, ['plugins/p/index.mjs']);
    const [found] = await candidates(dir);
    const { shared: _shared, ...bare } = found!;
    const cacheDir = await recordAll(dir, [bare]);
    expect(await names(cacheDir, bare)).toEqual(['p-type-region', 'p-type-image']);
    // Discovery's empty fingerprint (no `_*` folder) is the same as none.
    expect(found!.shared).toBe('');
    expect(await names(cacheDir, found!)).toEqual(['p-type-region', 'p-type-image']);
    expect(await names(cacheDir, { ...found!, shared: 'another' })).toBeUndefined();
  });
});

describe('ManifestCache.record', () => {
  it('forgets the earlier result of a plugin whose import now fails', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('p_type') });
    await age(dir, ['plugins/p/index.mjs']);
    const [candidate] = await candidates(dir);
    const cacheDir = await recordAll(dir, [candidate!]);
    const cache = await ManifestCache.open(cacheDir, silentLogger);
    expect(await cache.lookup(candidate!)).toBeDefined();
    const failed = new ExtensionError('IMPORT_FAILED', { file: candidate!.source, reason: 'a package is missing' });
    cache.record(candidate!, await hashFile(candidate!.entry), [], [toRejection(candidate!.source, failed)]);
    expect(await cache.lookup(candidate!)).toBeUndefined();
    await cache.save();
    expect(await names(cacheDir, candidate!)).toBeUndefined();
  });

  it('records nothing for an entry that could not be read before its import (no hash to vouch for it)', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('p_type') });
    const [candidate] = await candidates(dir);
    const cacheDir = await recordAll(dir, [candidate!]);
    const cache = await ManifestCache.open(cacheDir, silentLogger);
    // Within the racy window the content decides: an unreadable entry must not match an empty hash.
    cache.record(candidate!, '', [], []);
    await rm(candidate!.entry);
    expect(await cache.lookup(candidate!)).toBeUndefined();
    await cache.save();
    expect(await names(cacheDir, candidate!)).toBeUndefined();
  });

  it('keeps a refusal about the exports, and answers it for the plugin’s current source', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': "export default { requestType: 'Bad' };" });
    await age(dir, ['plugins/p/index.mjs']);
    const [candidate] = await candidates(dir);
    const cacheDir = await recordAll(dir, [candidate!]);
    const hit = await (await ManifestCache.open(cacheDir, silentLogger)).lookup({ ...candidate!, source: 'x/p.mjs' });
    expect(hit?.rejected.map((r) => [r.code, r.source])).toEqual([['MANIFEST_INVALID', 'x/p.mjs']]);
    expect(hit?.rejected[0]?.message).toContain('x/p.mjs');
    expect(hit?.rejected[0]?.message).not.toContain('plugins/p/index.mjs');
  });
});

describe('ManifestCache.prune', () => {
  it('forgets a plugin missing from any of the scanned roots, and keeps the others', async () => {
    const dir = await writeTree(await tempDir(), {
      'plugins/a/index.mjs': pairPlugin('a_type'),
      'extra/b/index.mjs': pairPlugin('b_type'),
      'other/c/index.mjs': pairPlugin('c_type'),
    });
    await age(dir, ['plugins/a/index.mjs', 'extra/b/index.mjs', 'other/c/index.mjs']);
    const [a, b, c] = await candidates(dir, ['plugins', 'extra', 'other']);
    const cacheDir = await recordAll(dir, [a!, b!, c!]);
    const cache = await ManifestCache.open(cacheDir, silentLogger);
    // Both roots were scanned; only b was seen. c's root was not scanned, so c is kept.
    cache.prune([a!.root, b!.root], new Set([b!.entry]));
    expect(await cache.lookup(a!)).toBeUndefined();
    expect(await cache.lookup(b!)).toBeDefined();
    expect(await cache.lookup(c!)).toBeDefined();
    await cache.save();
    expect(await names(cacheDir, a!)).toBeUndefined();
    expect(await names(cacheDir, b!)).toEqual(['b-type-region', 'b-type-image']);
    expect(await names(cacheDir, c!)).toEqual(['c-type-region', 'c-type-image']);
  });
});

describe('ManifestCache.save', () => {
  it('writes only when something changed since the file was opened or last saved', async () => {
    const dir = await writeTree(await tempDir(), {
      'plugins/a/index.mjs': pairPlugin('a_type'),
      'plugins/b/index.mjs': pairPlugin('b_type'),
    });
    const [a, b] = await candidates(dir);
    const cacheDir = await recordAll(dir, [a!]);
    const file = path.join(cacheDir, 'manifests.json');
    /** Put a byte before the header that a rewrite would drop (JSON allows it), and return the content. */
    const mark = async () => {
      const marked = ` ${await readFile(file, 'utf8')}`;
      await writeFile(file, marked);
      return marked;
    };
    const cache = await ManifestCache.open(cacheDir, silentLogger);
    let marked = await mark();
    await cache.save();
    expect(await readFile(file, 'utf8')).toBe(marked);
    cache.record(b!, await hashFile(b!.entry), [], []);
    await cache.save();
    expect(await readFile(file, 'utf8')).not.toBe(marked);
    marked = await mark();
    await cache.save();
    expect(await readFile(file, 'utf8')).toBe(marked);
  });
});
