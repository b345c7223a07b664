/**
 * The manifest cache: a warm boot must register exactly what an eager boot registers, without
 * importing unchanged plugins, and must never serve a stale entry.
 */
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestCache, hashFile } from '../../src/boot/cache.js';
import { discover, type PluginCandidate } from '../../src/boot/discover.js';
import { loadPlugin } from '../../src/boot/load.js';
import { loadExtensions, type Extensions } from '../../src/host/extensions.js';
import { silentLogger } from '../../src/shared/types.js';
import { pairPlugin, recordingLogger, runCli, tempDir, writeTree } from '../helpers/index.js';

let generation = 0;
/** Boot in a fresh module generation, so an import really re-runs the plugin's code. */
const boot = (cwd: string, patch: object = {}) =>
  loadExtensions({ cwd, env: {}, reload: `g${++generation}`, ...patch });

/** A plugin that appends a line to IMPORTS each time its module is evaluated. */
const counted = (type: string, extra = '') => `import { appendFileSync } from 'node:fs';
appendFileSync(new URL('../../IMPORTS', import.meta.url), '${type}\\n');
${extra}
${pairPlugin(type)}`;
const imports = async (dir: string): Promise<string[]> =>
  existsSync(path.join(dir, 'IMPORTS'))
    ? (await readFile(path.join(dir, 'IMPORTS'), 'utf8')).trim().split('\n').filter(Boolean)
    : [];

const snapshot = (ext: Extensions) => ({
  handlers: ext.registry.list().map(({ load: _load, ...info }) => info),
  rejected: ext.rejected.map((r) => ({
    source: r.source,
    code: r.code,
    message: r.message,
    requestTypes: r.requestTypes,
  })),
  types: ext.registry.requestTypes().map((t) => [t, ext.registry.isComplete(t)]),
});

async function project(files: Record<string, string>): Promise<string> {
  return writeTree(await tempDir(), { 'package.json': '{}', ...files });
}

const TREE = {
  'plugins/alpha/index.mjs': counted('alpha'),
  'plugins/beta/index.mjs': counted('beta', 'export const extra = 1;'),
  'plugins/dup/index.mjs': counted('alpha')
    .replace("name: 'alpha-region'", "name: 'dup-region'")
    .replace("name: 'alpha-image'", "name: 'dup-image'"),
  'plugins/half/index.mjs': `class R { processRegionRequest() {} }\nexport default { requestType: 'half', handlerType: 'REGION_REQUEST_HANDLER', name: 'half-region', handler: R };`,
  'plugins/nothing/index.mjs': 'export const helper = 1;',
  'plugins/syntax/index.mjs': 'export default {',
};

describe('manifest cache', () => {
  it('gives a warm boot the same registry, refusals and selections as an eager one, without importing', async () => {
    const dir = await project(TREE);
    const eager = await boot(dir, { config: undefined, cwd: dir });
    expect(existsSync(path.join(dir, 'node_modules/.cache/osml-extensions/manifests.json'))).toBe(true);
    const before = await imports(dir);
    const cached = await boot(dir);
    expect(await imports(dir)).toEqual(before);
    expect(snapshot(cached)).toEqual(snapshot(eager));
    const noCache = await boot(dir, { overrides: { cache: false } });
    expect(snapshot(noCache)).toEqual(snapshot(eager));
    for (const options of [{ requestType: 'beta' }, {}]) {
      expect(cached.resolve(options).region.name).toBe(eager.resolve(options).region.name);
    }
    // `dup` was refused for claiming alpha's slots, so alpha fails alike in both.
    expect(() => cached.resolve({ requestType: 'alpha' })).toThrow(
      expect.objectContaining({ code: 'SELECTED_PLUGIN_REFUSED' }),
    );
    expect(() => eager.resolve({ requestType: 'alpha' })).toThrow(
      expect.objectContaining({ code: 'SELECTED_PLUGIN_REFUSED' }),
    );
    expect(() => cached.resolve({ requestType: 'half' })).toThrow(
      expect.objectContaining({ code: 'INCOMPLETE_REQUEST_TYPE' }),
    );
  });

  it('imports only the chosen pair, when it is instantiated', async () => {
    const dir = await project(TREE);
    await boot(dir);
    const warm = await boot(dir);
    const before = (await imports(dir)).length;
    const pair = await warm.start({ requestType: 'beta' });
    expect(pair.region).toBeDefined();
    expect((await imports(dir)).slice(before)).toEqual(['beta']);
  });

  it('picks up new, changed and deleted plugins', async () => {
    const dir = await project({
      'plugins/alpha/index.mjs': counted('alpha'),
      'plugins/beta/index.mjs': counted('beta'),
    });
    await boot(dir);
    await writeTree(dir, { 'plugins/gamma/index.mjs': counted('gamma'), 'plugins/alpha/index.mjs': counted('alpha2') });
    await rm(path.join(dir, 'plugins/beta'), { recursive: true });
    const ext = await boot(dir);
    expect(ext.registry.requestTypes()).toEqual(['alpha2', 'gamma', 'http']);
    const cache = await readFile(path.join(dir, 'node_modules/.cache/osml-extensions/manifests.json'), 'utf8');
    expect(cache).not.toContain('plugins/beta');
  });

  it('sees a change that keeps size and mtime, through the content hash', async () => {
    const dir = await project({ 'plugins/p/index.mjs': pairPlugin('aaaa') });
    const entry = path.join(dir, 'plugins/p/index.mjs');
    const old = new Date(Date.now() - 60_000);
    await utimes(entry, old, old);
    await boot(dir);
    await writeFile(entry, pairPlugin('bbbb'));
    await utimes(entry, old, old);
    expect((await boot(dir)).registry.requestTypes()).toContain('bbbb');
  });

  it('does not re-import a plugin that was only touched', async () => {
    const dir = await project({ 'plugins/alpha/index.mjs': counted('alpha') });
    await boot(dir);
    const later = new Date(Date.now() + 5_000);
    await utimes(path.join(dir, 'plugins/alpha/index.mjs'), later, later);
    await boot(dir);
    expect(await imports(dir)).toEqual(['alpha']);
  });

  it('re-imports when another file of the plugin folder changes', async () => {
    const dir = await project({
      'plugins/p/names.mjs': "export const type = 'first';",
      'plugins/p/index.mjs': `import { type } from './names.mjs';\n${pairPlugin('x').replaceAll("'x'", 'type')}`,
    });
    expect((await boot(dir)).registry.requestTypes()).toContain('first');
    await writeTree(dir, { 'plugins/p/names.mjs': "export const type = 'second_one';" });
    expect((await boot(dir)).registry.requestTypes()).toContain('second_one');
  });

  it('reports cached refusals without importing, and retries failures that may be external', async () => {
    const dir = await project({
      'plugins/bad/index.mjs': `import { appendFileSync } from 'node:fs';\nappendFileSync(new URL('../../IMPORTS', import.meta.url), 'bad\\n');\nexport default { requestType: 'Bad' };`,
      'plugins/missing-dep/index.mjs': "import 'not-installed-anywhere';",
    });
    const first = await boot(dir);
    const second = await boot(dir);
    expect(await imports(dir)).toEqual(['bad']);
    expect(snapshot(second).rejected).toEqual(snapshot(first).rejected);
    expect(second.rejected.map((r) => r.code)).toEqual(['MANIFEST_INVALID', 'IMPORT_FAILED']);
    const cache = await readFile(path.join(dir, 'node_modules/.cache/osml-extensions/manifests.json'), 'utf8');
    expect(cache).not.toContain('missing-dep');
  });

  it.each([
    ['corrupt', 'not json {'],
    ['foreign', `${JSON.stringify({ format: 1, tool: '0.0.0/node-1', writtenAt: 0, sha256: '' })}\n[]`],
    ['tampered', `${JSON.stringify({ format: 1, tool: 'x', writtenAt: 0, sha256: 'not-the-hash' })}\n[["/x",{}]]`],
    ['poisoned', '{"__proto__": {"polluted": true}, "format": 1}'],
  ])('ignores and rewrites a %s cache file', async (_label, content) => {
    const dir = await project({ 'plugins/alpha/index.mjs': counted('alpha') });
    await writeTree(dir, { 'node_modules/.cache/osml-extensions/manifests.json': content });
    expect((await boot(dir)).registry.isComplete('alpha')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const text = await readFile(path.join(dir, 'node_modules/.cache/osml-extensions/manifests.json'), 'utf8');
    const entries = JSON.parse(text.slice(text.indexOf('\n') + 1)) as unknown[];
    expect(entries).toHaveLength(1);
  });

  it('honours cache: false and cacheDir', async () => {
    const off = await project({
      'osml-extensions.config.json': '{"cache": false}',
      'plugins/a/index.mjs': pairPlugin('a'),
    });
    await boot(off);
    expect(existsSync(path.join(off, 'node_modules/.cache/osml-extensions'))).toBe(false);
    const moved = await project({
      'osml-extensions.config.json': '{"cacheDir": ".cache"}',
      'plugins/a/index.mjs': pairPlugin('a'),
    });
    await boot(moved);
    expect(existsSync(path.join(moved, '.cache/manifests.json'))).toBe(true);
  });

  it('--no-cache neither reads nor writes the cache (CLI)', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a') });
    const result = await runCli(['list', '--json', '--no-cache', '--log-level', 'silent'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(existsSync(path.join(dir, 'node_modules/.cache'))).toBe(false);
    const cached = await runCli(['list', '--json', '--log-level', 'silent'], { cwd: dir });
    expect(JSON.parse(cached.stdout)).toEqual(JSON.parse(result.stdout));
    expect(existsSync(path.join(dir, 'node_modules/.cache/osml-extensions/manifests.json'))).toBe(true);
  });

  it('a boot of other roots keeps this root’s entries, even a root whose name starts the same', async () => {
    const dir = await project({
      'plugins/a/index.mjs': counted('a_type'),
      'plugins-extra/b/index.mjs': counted('b_type'),
    });
    const bootRoots = (pluginDirs: string[]) => boot(dir, { overrides: { pluginDirs } });
    await bootRoots(['plugins', 'plugins-extra']);
    await bootRoots(['plugins']);
    await bootRoots(['plugins-extra']);
    const ext = await bootRoots(['plugins', 'plugins-extra']);
    expect(ext.registry.isComplete('a_type') && ext.registry.isComplete('b_type')).toBe(true);
    // Each imported once, by the first boot (concurrently, so in either order).
    expect((await imports(dir)).sort()).toEqual(['a_type', 'b_type']);
  });

  it('logs how many plugins came from the cache', async () => {
    const dir = await project({ 'plugins/a/index.mjs': pairPlugin('a'), 'plugins/b/index.mjs': pairPlugin('b') });
    await boot(dir);
    const lines: Record<string, unknown>[] = [];
    const logger = {
      error() {},
      warn() {},
      debug() {},
      info: (obj: object) => void lines.push(obj as Record<string, unknown>),
    };
    await boot(dir, { logger });
    expect(lines.find((l) => l['event'] === 'boot.summary')).toMatchObject({ plugins: 2, fromCache: 2 });
  });
});

describe('manifest cache: inputs outside the entry', () => {
  it('sees a change in the root’s shared _* folders', async () => {
    const dir = await project({
      'plugins/_shared/names.mjs': "export const type = 'first';",
      'plugins/p/index.mjs': `import { type } from '../_shared/names.mjs';\n${pairPlugin('x').replaceAll("'x'", 'type')}`,
    });
    expect((await boot(dir)).registry.requestTypes()).toContain('first');
    await writeTree(dir, { 'plugins/_shared/names.mjs': "export const type = 'second_one';" });
    expect((await boot(dir)).registry.requestTypes()).toContain('second_one');
  });

  it('serves an unchanged plugin from the cache when its root has shared _* folders', async () => {
    const dir = await project({
      'plugins/_shared/names.mjs': "export const type = 'first';",
      'plugins/p/index.mjs': counted('p_type', "import { type } from '../_shared/names.mjs';"),
    });
    expect((await boot(dir)).registry.isComplete('p_type')).toBe(true);
    expect((await boot(dir)).registry.isComplete('p_type')).toBe(true);
    expect(await imports(dir)).toEqual(['p_type']);
  });

  it('sees a change in a dot folder of the plugin', async () => {
    const dir = await project({
      'plugins/p/.gen/names.mjs': "export const type = 'first';",
      'plugins/p/index.mjs': `import { type } from './.gen/names.mjs';\n${pairPlugin('x').replaceAll("'x'", 'type')}`,
    });
    expect((await boot(dir)).registry.requestTypes()).toContain('first');
    await writeTree(dir, { 'plugins/p/.gen/names.mjs': "export const type = 'second_one';" });
    expect((await boot(dir)).registry.requestTypes()).toContain('second_one');
  });

  it('never caches an import failure: fixing a shared file outside the folder is seen at once', async () => {
    const dir = await project({
      'plugins/_shared/h.mjs': 'export const x = 1;',
      'plugins/p/index.mjs': `import { y } from '../_shared/h.mjs';\n${pairPlugin('p_type')}`,
    });
    expect((await boot(dir)).rejected.map((r) => r.code)).toEqual(['IMPORT_FAILED']);
    // Edit without changing the shared fingerprint's size class: the refusal must simply not be cached.
    await writeTree(dir, { 'plugins/_shared/h.mjs': 'export const x = 1, y = 2;' });
    expect((await boot(dir)).registry.isComplete('p_type')).toBe(true);
  });

  it('drops an entry whose manifest proved different at load, so the next boot refreshes it', async () => {
    const dir = await project({
      'plugins/moody/index.mjs': `class R { processRegionRequest() {} }
        class I { processImageRequest() {} }
        const version = process.env.OSML_TEST_VERSION ?? '1';
        export default [
          { requestType: 'moody', handlerType: 'REGION_REQUEST_HANDLER', name: 'moody-region', version, handler: R },
          { requestType: 'moody', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'moody-image', handler: I },
        ];`,
    });
    await boot(dir);
    process.env['OSML_TEST_VERSION'] = '2';
    try {
      await expect((await boot(dir)).start({ requestType: 'moody' })).rejects.toMatchObject({
        code: 'MANIFEST_CHANGED',
      });
      const next = await boot(dir);
      expect(next.registry.byName('moody-region')?.version).toBe('2');
      await expect(next.start({ requestType: 'moody' })).resolves.toBeDefined();
    } finally {
      delete process.env['OSML_TEST_VERSION'];
    }
  });

  it('reports a plugin’s own refusal, not MANIFEST_CHANGED, when a cached handler’s plugin now fails to import', async () => {
    const dir = await project({ 'plugins/p/index.mjs': pairPlugin('p_type') });
    await boot(dir);
    const warm = await boot(dir);
    // Break it behind the cache's back (same size, times restored), then load the cached handler.
    const entry = path.join(dir, 'plugins/p/index.mjs');
    const before = pairPlugin('p_type');
    const broken = `${before.slice(0, -2)}(`;
    await writeFile(entry, broken.padEnd(before.length, ' '));
    await expect(warm.start({ requestType: 'p_type' })).rejects.toMatchObject({ code: 'IMPORT_FAILED' });
  });

  it('rewrites cached refusal messages for the current working directory', async () => {
    // The config file at the top keeps one cache folder for both working directories.
    const dir = await project({
      'osml-extensions.config.json': '{}',
      'plugins/bad/index.mjs': "export default { requestType: 'Bad' };",
      'sub/.keep': '',
    });
    await boot(dir);
    const lines: Record<string, unknown>[] = [];
    const logger = {
      error() {},
      warn() {},
      info() {},
      debug: (obj: object) => void lines.push(obj as Record<string, unknown>),
    };
    const fromSub = await loadExtensions({
      cwd: path.join(dir, 'sub'),
      env: {},
      logger,
      reload: `g${++generation}`,
      overrides: { pluginDirs: ['../plugins'] },
    });
    expect(lines.some((l) => l['event'] === 'plugin.cached')).toBe(true);
    const rejection = fromSub.rejected.find((r) => r.code === 'MANIFEST_INVALID');
    expect(rejection?.source).toBe('../plugins/bad/index.mjs');
    expect(rejection?.message).toContain('../plugins/bad/index.mjs');
  });
});

describe('manifest cache: vetting still holds', () => {
  it('refuses a world-writable or oversized entry on a warm cache too (stats reused from discovery)', async () => {
    const dir = await project({
      'plugins/open/index.mjs': pairPlugin('open_type'),
      'plugins/ok/index.mjs': pairPlugin('ok_type'),
    });
    expect((await boot(dir)).registry.isComplete('open_type')).toBe(true);
    await chmod(path.join(dir, 'plugins/open/index.mjs'), 0o666);
    const warm = await boot(dir);
    expect(warm.rejected.map((r) => [r.code, r.source])).toEqual([['INSECURE_PERMISSIONS', 'plugins/open/index.mjs']]);
    expect(warm.registry.isComplete('ok_type')).toBe(true);
    await chmod(path.join(dir, 'plugins/open/index.mjs'), 0o644);
    const big = await project({
      'osml-extensions.config.json': '{"maxEntryBytes": 100}',
      'plugins/p/index.mjs': pairPlugin('p_type'),
    });
    expect((await boot(big)).rejected.map((r) => r.code)).toEqual(['ENTRY_TOO_LARGE']);
    expect((await boot(big)).rejected.map((r) => r.code)).toEqual(['ENTRY_TOO_LARGE']);
  });

  it('still resolves a symlinked entry through realpath when the cache is on', async () => {
    const dir = await project({ 'outside/x.mjs': pairPlugin('x_type'), 'plugins/p/.keep': '' });
    await symlink(path.join(dir, 'outside/x.mjs'), path.join(dir, 'plugins/p/index.mjs'));
    expect((await boot(dir)).rejected.map((r) => r.code)).toEqual(['PATH_ESCAPE']);
  });
});

describe('manifest cache: the racy window', () => {
  /** Discover the project's one plugin with the cache's file stats, import it and record it in a saved cache. */
  async function recorded(dir: string): Promise<{ candidate: PluginCandidate; cacheDir: string }> {
    const cacheDir = path.join(dir, 'cache');
    const [candidate] = (await discover({ roots: [path.join(dir, 'plugins')], cwd: dir, withFiles: true })).plugins;
    if (candidate === undefined) throw new Error('no plugin');
    const loaded = await loadPlugin(candidate, { reload: `g${++generation}` });
    const cache = await ManifestCache.open(cacheDir, silentLogger);
    cache.record(
      candidate,
      await hashFile(candidate.entry),
      loaded.manifests.map(({ handler: _handler, ...info }) => info),
      [],
    );
    await cache.save();
    return { candidate, cacheDir };
  }

  // A file system whose timestamps are coarser than two writes (or a rewrite within one tick) shows
  // the same size, mtime and ctime after the rewrite: discovery's stats are then those recorded.
  it('misses an entry rewritten at the same size within the same timestamp tick', async () => {
    const dir = await project({ 'plugins/p/index.mjs': pairPlugin('aaaa') });
    const { candidate, cacheDir } = await recorded(dir);
    const reopened = await ManifestCache.open(cacheDir, silentLogger);
    expect((await reopened.lookup(candidate))?.manifests.map((m) => m.requestType)).toEqual(['aaaa', 'aaaa']);
    await writeFile(candidate.entry, pairPlugin('bbbb'));
    expect(await reopened.lookup(candidate)).toBeUndefined();
    expect(await (await ManifestCache.open(cacheDir, silentLogger)).lookup(candidate)).toBeUndefined();
  });

  it('trusts unchanged stats once the file is older than the racy window, without reading it', async () => {
    const dir = await project({ 'plugins/p/index.mjs': pairPlugin('aaaa') });
    const entry = path.join(dir, 'plugins/p/index.mjs');
    const old = new Date(Date.now() - 60_000);
    await utimes(entry, old, old);
    const { candidate, cacheDir } = await recorded(dir);
    // Gone, yet its recorded stats match and are old: the cache answers without touching the file.
    await rm(entry);
    const hit = await (await ManifestCache.open(cacheDir, silentLogger)).lookup(candidate);
    expect(hit?.manifests.map((m) => m.name)).toEqual(['aaaa-region', 'aaaa-image']);
  });
});

describe('manifest cache: when the file is rewritten', () => {
  const CACHE = 'node_modules/.cache/osml-extensions/manifests.json';
  const ENTRY = 'plugins/p/index.mjs';
  const read = async (dir: string) => {
    const text = await readFile(path.join(dir, CACHE), 'utf8');
    const newline = text.indexOf('\n');
    const pairs = JSON.parse(text.slice(newline + 1)) as [string, { files: [string, number, number, number][] }][];
    return {
      text,
      header: JSON.parse(text.slice(0, newline)) as { writtenAt: number },
      /** The entry file's recorded size, mtime and ctime. */
      entry: pairs[0]?.[1].files.find(([p]) => p === 'index.mjs')?.slice(1) as number[] | undefined,
    };
  };
  /**
   * A plugin whose entry was last written `offsetMs` from now, booted once. "Within the racy window"
   * is a time ahead of now, so no test depends on how fast the boots run.
   */
  async function booted(offsetMs: number): Promise<string> {
    const dir = await project({ [ENTRY]: counted('p_type') });
    const when = new Date(Date.now() + offsetMs);
    await utimes(path.join(dir, ENTRY), when, when);
    await boot(dir);
    return dir;
  }

  it.each([
    ['older than the racy window, so their times are trusted', -60_000],
    ['within the racy window, so the entry is hashed', 60_000],
  ])('a warm boot where nothing changed leaves the cache file as it was (files %s)', async (_when, offsetMs) => {
    const dir = await booted(offsetMs);
    // A byte only this test writes (JSON allows it before the header): any rewrite drops it.
    const before = ` ${(await read(dir)).text}`;
    await writeFile(path.join(dir, CACHE), before);
    expect((await boot(dir)).registry.isComplete('p_type')).toBe(true);
    expect(await imports(dir)).toEqual(['p_type']);
    expect((await read(dir)).text).toBe(before);
  });

  it.each([
    ['into the past', -30_000],
    ['to a time within the racy window', 30_000],
  ])(
    'an entry touched %s, its content unchanged, is not imported, and its new times are recorded',
    async (_to, offsetMs) => {
      const dir = await booted(-60_000);
      const entry = path.join(dir, ENTRY);
      const touched = new Date(Date.now() + offsetMs);
      await utimes(entry, touched, touched);
      expect((await boot(dir)).registry.isComplete('p_type')).toBe(true);
      expect(await imports(dir)).toEqual(['p_type']);
      const now = await stat(entry);
      expect((await read(dir)).entry).toEqual([now.size, now.mtimeMs, now.ctimeMs]);
    },
  );

  it('an entry cached within the racy window of its last write is hashed once it is older, then trusted by its times', async () => {
    const dir = await booted(-60_000);
    const { text, entry } = await read(dir);
    const mtimeMs = entry![1]!;
    // As if the cache had been written a second after the entry: its times alone prove nothing yet.
    const newline = text.indexOf('\n');
    const header = { ...(JSON.parse(text.slice(0, newline)) as object), writtenAt: mtimeMs + 1000 };
    await writeFile(path.join(dir, CACHE), `${JSON.stringify(header)}${text.slice(newline)}`);
    const started = Date.now();
    expect((await boot(dir)).registry.isComplete('p_type')).toBe(true);
    expect(await imports(dir)).toEqual(['p_type']);
    // Rewritten: the entry is now well before the cache's write time, so the next boot need not read it.
    const after = await read(dir);
    expect(after.header.writtenAt).toBeGreaterThanOrEqual(started);
    expect(after.entry).toEqual(entry);
  });

  it('a cache that cannot be written is only logged: the boot goes on', async () => {
    const dir = await project({
      'osml-extensions.config.json': '{"cacheDir": "blocked/cache"}',
      blocked: 'a file where the cache folder would go',
      [ENTRY]: counted('p_type'),
    });
    const logger = recordingLogger();
    expect((await boot(dir, { logger })).registry.isComplete('p_type')).toBe(true);
    const lines = logger.lines.filter((l) => l.obj['event'] === 'cache.unwritable');
    expect(lines).toEqual([
      {
        level: 'debug',
        obj: {
          event: 'cache.unwritable',
          file: 'cache/manifests.json',
          reason: 'ENOTDIR',
        },
        msg: expect.stringMatching(/could not write/),
      },
    ]);
  });
});
