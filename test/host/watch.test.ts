/**
 * Live drop-in: watch() reloads when a plugin folder is added, changed or removed; swaps only a
 * valid selection in; reports what changed; stops at maxReloads; close() stops watching.
 * Every wait is for an event, with a timeout; the only fixed waits are in "nothing happens" tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isExtensionError } from '../../src/shared/errors.js';
import {
  watch,
  type ReloadEvent,
  type WatchFailure,
  type WatchHandle,
  type WatchOptions,
} from '../../src/host/watch.js';
import { pairPlugin, recordingLogger, tempDir, writeTree } from '../helpers/index.js';

type Live = WatchHandle<{ processRegionRequest(): unknown }, unknown>;

/** A plugin whose region handler's processRegionRequest returns `marker` (to see which code runs). */
const markedPlugin = (requestType: string, marker: string, prefix = requestType.replace(/_/g, '-')) => `
class Region { constructor(deps) { this.deps = deps; } processRegionRequest() { return '${marker}'; } }
class Image { constructor(deps) { this.deps = deps; } processImageRequest() { return null; } }
export default [
  { requestType: '${requestType}', handlerType: 'REGION_REQUEST_HANDLER', name: '${prefix}-region', handler: Region },
  { requestType: '${requestType}', handlerType: 'IMAGE_REQUEST_HANDLER', name: '${prefix}-image', handler: Image },
];
`;

const open: Live[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((live) => live.close()));
});

/** The next event of a kind, or a rejection after `ms`. */
function next(live: Live, event: 'reload', ms?: number): Promise<ReloadEvent<{ processRegionRequest(): unknown }>>;
function next(live: Live, event: 'error', ms?: number): Promise<WatchFailure>;
function next(live: Live, event: 'reload' | 'error', ms = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${event}" event within ${ms} ms`));
    }, ms);
    const off = live.on(event as 'reload', (value) => {
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

/** Resolves after `ms` with the events seen meanwhile (for "nothing happens" checks). */
async function eventsDuring(live: Live, ms: number): Promise<string[]> {
  const seen: string[] = [];
  const offs = [live.on('reload', () => seen.push('reload')), live.on('error', () => seen.push('error'))];
  await new Promise((resolve) => setTimeout(resolve, ms));
  offs.forEach((off) => off());
  return seen;
}

async function start(files: Record<string, string>, options: Omit<WatchOptions, 'config'> & { config?: object } = {}) {
  const dir = await writeTree(await tempDir(), {
    'osml-extensions.config.json': JSON.stringify(options.config ?? {}),
    ...files,
  });
  const logger = recordingLogger();
  const { config: _ignored, ...rest } = options;
  const live = (await watch({
    config: await loadConfig({ cwd: dir, env: {} }),
    logger,
    debounceMs: 30,
    ...rest,
  })) as Live;
  open.push(live);
  return { dir, live, logger };
}

describe('watch: reloads on change', () => {
  it('a folder added: its handlers are added, logged as one reload line with added/changed/removed and generation', async () => {
    const { dir, live, logger } = await start(
      { 'plugins/a/index.mjs': pairPlugin('a_type') },
      { requestType: 'a_type' },
    );
    expect(live.current().generation).toBe(0);
    const reloaded = next(live, 'reload');
    await writeTree(dir, { 'plugins/b/index.mjs': pairPlugin('b_type') });
    const event = await reloaded;
    expect(event.added).toEqual(['b-type-region', 'b-type-image']);
    expect(event.changed).toEqual([]);
    expect(event.removed).toEqual([]);
    expect(event.plugins.added).toEqual(['plugins/b']);
    expect(live.current().generation).toBe(event.generation);
    expect(live.current().extensions.registry.isComplete('b_type')).toBe(true);
    const lines = logger.lines.filter((l) => l.obj['event'] === 'reload');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      obj: { generation: 1, added: ['b-type-region', 'b-type-image'], changed: [], removed: [] },
    });
  });

  it('a file changed: reported as changed (a replacement, not a duplicate) and the new code is in effect', async () => {
    const { dir, live } = await start(
      { 'plugins/a/index.mjs': markedPlugin('a_type', 'v1') },
      { requestType: 'a_type', deps: {} },
    );
    expect(live.current().pair?.region.processRegionRequest()).toBe('v1');
    const reloaded = next(live, 'reload');
    await writeTree(dir, { 'plugins/a/index.mjs': markedPlugin('a_type', 'v2') });
    const event = await reloaded;
    expect(event.changed).toEqual(['a-type-region', 'a-type-image']);
    expect(event.added).toEqual([]);
    expect(event.plugins.changed).toEqual(['plugins/a']);
    expect(event.extensions.rejected).toEqual([]); // re-registered from the same file: no DUPLICATE_SLOT/NAME
    expect(live.current().pair?.region.processRegionRequest()).toBe('v2');
    expect(event.selection.region.name).toBe('a-type-region');
  });

  it("a helper file imported by relative path changed: the plugin is changed and the helper's new code runs", async () => {
    const helperPlugin = markedPlugin('a_type', 'unused').replace("return 'unused';", 'return marker;');
    const { dir, live } = await start(
      {
        'plugins/a/index.mjs': `import { marker } from './marker.mjs';\n${helperPlugin}`,
        'plugins/a/marker.mjs': "export const marker = 'h1';\n",
      },
      { requestType: 'a_type', deps: {} },
    );
    expect(live.current().pair?.region.processRegionRequest()).toBe('h1');
    const reloaded = next(live, 'reload');
    await writeTree(dir, { 'plugins/a/marker.mjs': "export const marker = 'h2';\n" });
    const event = await reloaded;
    expect(event.changed).toEqual(['a-type-region', 'a-type-image']);
    expect(live.current().pair?.region.processRegionRequest()).toBe('h2');
  });

  it('a change in a folder that is no plugin (_shared) reports every plugin as changed', async () => {
    const { dir, live } = await start(
      {
        'plugins/a/index.mjs': pairPlugin('a_type'),
        'plugins/b/index.mjs': pairPlugin('b_type'),
        'plugins/_shared/util.mjs': 'export const x = 1;\n',
      },
      { requestType: 'a_type' },
    );
    const reloaded = next(live, 'reload');
    await writeTree(dir, { 'plugins/_shared/util.mjs': 'export const x = 2;\n' });
    const event = await reloaded;
    expect(event.plugins.changed).toEqual(['plugins/a', 'plugins/b']);
    expect(event.added).toEqual([]);
  });

  it('dot files under a root do not trigger a reload', async () => {
    const { dir, live } = await start({ 'plugins/a/index.mjs': pairPlugin('a_type') }, { requestType: 'a_type' });
    await writeTree(dir, { 'plugins/a/.index.mjs.swp': 'editor noise' });
    expect(await eventsDuring(live, 300)).toEqual([]);
  });

  it('a folder removed: its handlers are removed', async () => {
    const { dir, live } = await start(
      { 'plugins/a/index.mjs': pairPlugin('a_type'), 'plugins/b/index.mjs': pairPlugin('b_type') },
      { requestType: 'a_type' },
    );
    const reloaded = next(live, 'reload');
    await rm(path.join(dir, 'plugins', 'b'), { recursive: true });
    const event = await reloaded;
    expect(event.removed).toEqual(['b-type-region', 'b-type-image']);
    expect(event.plugins.removed).toEqual(['plugins/b']);
    expect(live.current().extensions.registry.requestTypes()).not.toContain('b_type');
  });

  it('changes in quick succession give one reload (debounce)', async () => {
    const { dir, live } = await start(
      { 'plugins/a/index.mjs': pairPlugin('a_type') },
      { requestType: 'a_type', debounceMs: 150 },
    );
    const reloaded = next(live, 'reload');
    await writeTree(dir, { 'plugins/b/index.mjs': pairPlugin('b_type') });
    await writeTree(dir, { 'plugins/c/index.mjs': pairPlugin('c_type') });
    const event = await reloaded;
    expect(event.plugins.added).toEqual(['plugins/b', 'plugins/c']);
    expect(await eventsDuring(live, 400)).toEqual([]);
  });
});

describe('watch: only a valid selection is swapped in', () => {
  it('a change that breaks the selected request type keeps the running one and logs the reason (warn)', async () => {
    const { dir, live, logger } = await start(
      { 'plugins/a/index.mjs': pairPlugin('a_type') },
      { requestType: 'a_type' },
    );
    const before = live.current();
    const failed = next(live, 'error');
    await writeTree(dir, { 'plugins/a/index.mjs': 'export default [ syntax error' });
    const { error, generation } = await failed;
    expect(isExtensionError(error, 'UNKNOWN_REQUEST_TYPE')).toBe(true);
    expect(generation).toBe(1);
    expect(live.current()).toBe(before);
    const warn = logger.lines.find((l) => l.obj['event'] === 'reload.rejected');
    expect(warn).toMatchObject({ level: 'warn', obj: { code: 'UNKNOWN_REQUEST_TYPE', generation: 1, running: 0 } });
    expect(
      logger.lines.some(
        (l) =>
          l.obj['event'] === 'plugin.rejected' &&
          l.obj['code'] === 'IMPORT_FAILED' &&
          l.obj['source'] === 'plugins/a/index.mjs',
      ),
    ).toBe(true);

    // Fixing it swaps the fixed version in.
    const reloaded = next(live, 'reload');
    await writeTree(dir, { 'plugins/a/index.mjs': pairPlugin('a_type') });
    expect((await reloaded).generation).toBe(2);
  });

  it('with deps, a reload whose pair fails to construct is not swapped in', async () => {
    const { dir, live } = await start(
      { 'plugins/a/index.mjs': markedPlugin('a_type', 'v1') },
      { requestType: 'a_type', deps: {} },
    );
    const failed = next(live, 'error');
    await writeTree(dir, {
      'plugins/a/index.mjs': markedPlugin('a_type', 'v2').replace('this.deps = deps;', "throw new Error('boom');"),
    });
    expect(isExtensionError((await failed).error, 'HANDLER_CONSTRUCTION_FAILED')).toBe(true);
    expect(live.current().pair?.region.processRegionRequest()).toBe('v1');
  });

  it('with fallback enabled, a broken reload is refused rather than swapped for the built-in pair', async () => {
    const { dir, live } = await start(
      { 'plugins/a/index.mjs': pairPlugin('a_type') },
      { requestType: 'a_type', config: { fallbackEnabled: true } },
    );
    const failed = next(live, 'error');
    await rm(path.join(dir, 'plugins', 'a'), { recursive: true });
    expect(isExtensionError((await failed).error, 'UNKNOWN_REQUEST_TYPE')).toBe(true);
    expect(live.current().selection).toMatchObject({ requestType: 'a_type', fallback: false });
  });

  it('in strict mode, a reload with a refused plugin is not swapped in (PLUGINS_REJECTED)', async () => {
    const { dir, live } = await start(
      { 'plugins/a/index.mjs': pairPlugin('a_type') },
      { requestType: 'a_type', config: { strict: true } },
    );
    const failed = next(live, 'error');
    await writeTree(dir, { 'plugins/b/index.mjs': 'export const nothing = 1;\n' });
    const { error } = await failed;
    expect(isExtensionError(error, 'PLUGINS_REJECTED')).toBe(true);
    expect(error.message).toContain('plugins/b/index.mjs');
  });
});

describe('watch: limits and shutdown', () => {
  it('after maxReloads it logs RELOAD_LIMIT (error) and stops reloading', async () => {
    const { dir, live, logger } = await start(
      { 'plugins/a/index.mjs': pairPlugin('a_type') },
      { requestType: 'a_type', maxReloads: 1 },
    );
    const reloaded = next(live, 'reload');
    const limited = next(live, 'error');
    await writeTree(dir, { 'plugins/b/index.mjs': pairPlugin('b_type') });
    await reloaded;
    expect(isExtensionError((await limited).error, 'RELOAD_LIMIT')).toBe(true);
    expect(logger.lines.find((l) => l.obj['event'] === 'reload.limit')).toMatchObject({
      level: 'error',
      obj: { code: 'RELOAD_LIMIT', maxReloads: 1 },
    });
    await writeTree(dir, { 'plugins/c/index.mjs': pairPlugin('c_type') });
    expect(await eventsDuring(live, 300)).toEqual([]);
    expect(live.current().extensions.registry.requestTypes()).not.toContain('c_type');
  });

  it('close() stops watching; the current state stays readable', async () => {
    const { dir, live } = await start({ 'plugins/a/index.mjs': pairPlugin('a_type') }, { requestType: 'a_type' });
    await live.close();
    await writeTree(dir, { 'plugins/b/index.mjs': pairPlugin('b_type') });
    expect(await eventsDuring(live, 300)).toEqual([]);
    expect(live.current().selection.requestType).toBe('a_type');
  });

  it('a missing plugin root is reported as WATCH_FAILED (warn), naming the root', async () => {
    const { logger } = await start({}, { config: { pluginDirs: ['nowhere'] } });
    const line = logger.lines.find((l) => l.obj['event'] === 'watch.failed');
    expect(line).toMatchObject({ level: 'warn', obj: { code: 'WATCH_FAILED', root: 'nowhere' } });
    // The reason (Node's ENOENT text) names the root relative to the working directory, never absolutely.
    expect(String(line?.obj['message'])).toContain("'nowhere'");
    expect(String(line?.obj['message'])).not.toMatch(/'\/[^']*nowhere'/);
  });

  it('the initial selection must be valid: watch() throws what resolve throws', async () => {
    await expect(start({ 'plugins/a/index.mjs': pairPlugin('a_type') }, { requestType: 'nope' })).rejects.toMatchObject(
      { code: 'UNKNOWN_REQUEST_TYPE' },
    );
  });

  it('rejects a malformed debounceMs or maxReloads with CONFIG_INVALID', async () => {
    await expect(start({}, { maxReloads: 0 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(start({}, { debounceMs: -1 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('watch: special files dropped in', () => {
  it('a plugin whose entry is a FIFO is refused (SPECIAL_FILE); the watcher goes on and sees the next plugin', async () => {
    const { dir, live } = await start({ 'plugins/a/index.mjs': pairPlugin('a_type') }, { requestType: 'a_type' });
    const first = next(live, 'reload');
    await mkdir(path.join(dir, 'plugins', 'fifo'));
    execFileSync('mkfifo', [path.join(dir, 'plugins', 'fifo', 'pipe')]);
    await symlink('pipe', path.join(dir, 'plugins', 'fifo', 'index.mjs'));
    await first;
    expect(live.current().extensions.rejected.map((r) => [r.source, r.code])).toEqual([
      ['plugins/fifo/index.mjs', 'SPECIAL_FILE'],
    ]);
    const second = next(live, 'reload');
    await writeTree(dir, { 'plugins/later/index.mjs': pairPlugin('later_type') });
    expect((await second).added).toEqual(['later-type-region', 'later-type-image']);
  });
});
