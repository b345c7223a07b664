import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { discover, type PluginCandidate } from '../../src/boot/discover.js';
import { loadPlugin, loadPlugins } from '../../src/boot/load.js';
import { loadExtensions } from '../../src/host/extensions.js';
import { fixture, pairPlugin, tempDir, writeTree } from '../helpers/index.js';
import { loadOnePlugin } from '../helpers/load.js';

async function candidates(cwd: string, root = 'plugins'): Promise<PluginCandidate[]> {
  return (await discover({ roots: [path.join(cwd, root)], cwd })).plugins;
}

describe('loadPlugin: collecting manifests', () => {
  it('collects every export form of the mixed fixture', async () => {
    const loaded = await loadPlugins(await candidates(fixture('mixed')));
    const names = Object.fromEntries(loaded.map((l) => [l.candidate.name, l.manifests.map((m) => m.name)]));
    expect(names).toEqual({
      commonjs: ['cjs-region', 'cjs-image'],
      decorated: ['custom-image', 'custom-region'],
      'default-array': ['array-region', 'array-image'],
      'named-exports': ['named-region', 'named-image'],
      'pkg-exports': ['pkg-exports-image'],
      'pkg-main': ['pkg-main-region'],
    });
    expect(loaded.flatMap((l) => l.rejected)).toEqual([]);
  });

  it('collects a decorated class exported as default, once even when also exported by name', async () => {
    const dist = path.resolve('dist/index.js');
    const loaded = await loadOnePlugin({
      'plugins/p/index.mjs': `import { registerHandler } from '${dist}';
        const C = registerHandler({ requestType: 'd', handlerType: 'REGION_REQUEST_HANDLER', name: 'd-region' })(class { processRegionRequest() {} });
        export default C; export { C };`,
    });
    expect(loaded.rejected).toEqual([]);
    expect(loaded.manifests.map((m) => m.name)).toEqual(['d-region']);
  });

  it('does not collect a decorated class twice when a manifest object names it', async () => {
    const dist = path.resolve('dist/index.js');
    const loaded = await loadOnePlugin({
      'plugins/p/index.mjs': `import { registerHandler } from '${dist}';
        export const C = registerHandler({ requestType: 'd', handlerType: 'REGION_REQUEST_HANDLER', name: 'd-region' })(class { processRegionRequest() {} });
        export const manifest = { requestType: 'd', handlerType: 'REGION_REQUEST_HANDLER', name: 'explicit', handler: C };`,
    });
    expect(loaded.manifests.map((m) => m.name)).toEqual(['explicit']);
  });

  it('keeps the valid manifests of a file when another in it is invalid, and records the declared type', async () => {
    const loaded = await loadOnePlugin({
      'plugins/p/index.mjs': `class R { processRegionRequest() {} }
        export default [
          { requestType: 'ok', handlerType: 'REGION_REQUEST_HANDLER', name: 'ok-region', handler: R },
          { requestType: 'broken_type', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'bad-image', handler: R },
        ];`,
    });
    expect(loaded.manifests.map((m) => m.name)).toEqual(['ok-region']);
    expect(loaded.rejected).toHaveLength(1);
    expect(loaded.rejected[0]).toMatchObject({
      code: 'MANIFEST_INVALID',
      source: 'plugins/p/index.mjs',
      requestTypes: ['broken_type'],
    });
    expect(loaded.rejected[0]?.message).toContain('default export[1]');
  });

  it('rejects a `manifests` export that is not an array', async () => {
    const loaded = await loadOnePlugin({ 'plugins/p/index.mjs': 'export const manifests = { nope: true };' });
    expect(loaded.rejected.map((r) => r.code)).toEqual(['MANIFEST_INVALID']);
  });

  it('reports MANIFEST_MISSING with the exports it did find', async () => {
    const loaded = await loadOnePlugin({ 'plugins/p/index.mjs': 'export const helper = 1; export function util() {}' });
    expect(loaded.rejected[0]).toMatchObject({ code: 'MANIFEST_MISSING', source: 'plugins/p/index.mjs' });
    expect(loaded.rejected[0]?.message).toContain('helper, util');
  });
});

describe('loadPlugin: import failures', () => {
  it('names the file for a syntax error and keeps the SyntaxError as cause', async () => {
    const cwd = fixture('error-syntax');
    const loaded = await loadPlugins(await candidates(cwd));
    const broken = loaded.find((l) => l.candidate.name === 'broken');
    expect(broken?.rejected[0]).toMatchObject({ code: 'IMPORT_FAILED', source: 'plugins/broken/index.mjs' });
    expect(broken?.rejected[0]?.message).toContain('plugins/broken/index.mjs');
    expect(broken?.rejected[0]?.error.cause).toBeInstanceOf(SyntaxError);
    expect(loaded.find((l) => l.candidate.name === 'good')?.manifests).toHaveLength(2);
  });

  it('names the file for a missing import', async () => {
    const loaded = await loadOnePlugin({ 'plugins/p/index.mjs': "import 'definitely-not-installed-pkg';" });
    expect(loaded.rejected[0]).toMatchObject({ code: 'IMPORT_FAILED', source: 'plugins/p/index.mjs' });
    expect(loaded.rejected[0]?.message).toContain('definitely-not-installed-pkg');
  });

  it.each([
    ['null', 'throw null;'],
    ['a number', 'throw 42;'],
    ['an object whose toString throws', 'throw { toString() { throw new Error("x"); } };'],
  ])('turns a thrown %s into IMPORT_FAILED', async (_label, body) => {
    const loaded = await loadOnePlugin({ 'plugins/p/index.mjs': body });
    expect(loaded.rejected[0]).toMatchObject({ code: 'IMPORT_FAILED', source: 'plugins/p/index.mjs' });
  });

  it('keeps MANIFEST_INVALID from a decorator that throws at import, adding the file', async () => {
    const cwd = fixture('error-bad-decorator');
    const loaded = await loadPlugins(await candidates(cwd));
    const rejection = loaded.flatMap((l) => l.rejected)[0];
    expect(rejection).toMatchObject({ code: 'MANIFEST_INVALID', source: 'plugins/decorated/index.mjs' });
    expect(rejection?.message).toContain('plugins/decorated/index.mjs (class Broken)');
    // The decorator's own problems, word for word, and its error as the cause.
    const cause = rejection?.error.cause as { code: string; params: { problems: string[] } };
    expect(cause.code).toBe('MANIFEST_INVALID');
    expect(cause.params.problems.length).toBeGreaterThan(0);
    for (const problem of cause.params.problems) expect(rejection?.message).toContain(problem);
  });
});

describe('loadPlugins', () => {
  it('loads the same real file once when reached twice', async () => {
    const dir = await writeTree(await tempDir(), { 'a/one/index.mjs': pairPlugin('one') });
    await writeTree(dir, { 'b/two/.keep': '' });
    await symlink(path.join(dir, 'a/one/index.mjs'), path.join(dir, 'b/two/index.mjs'));
    const found = (await discover({ roots: [path.join(dir, 'a'), path.join(dir, 'b')], cwd: dir })).plugins;
    expect(found).toHaveLength(2);
    const loaded = await loadPlugins(found);
    expect(loaded.map((l) => l.candidate.source)).toEqual(['a/one/index.mjs']);
  });

  it('keeps discovery order whatever the import timing', async () => {
    const dir = await tempDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) {
      const type = `t${String(i).padStart(2, '0')}`;
      files[`plugins/${type}/index.mjs`] =
        `await new Promise((r) => setTimeout(r, ${(12 - i) * 3}));\n${pairPlugin(type)}`;
    }
    await writeTree(dir, files);
    const loaded = await loadPlugins(await candidates(dir), { concurrency: 4 });
    expect(loaded.map((l) => l.candidate.name)).toEqual(
      Object.keys(files)
        .map((f) => f.split('/')[1])
        .sort(),
    );
  });
});

describe('loadPlugin: TypeScript entries (jiti, no build step)', () => {
  it('loads index.ts with decorators and type-only syntax', async () => {
    const dist = path.resolve('dist/index.js');
    const loaded = await loadOnePlugin({
      'plugins/ts/index.ts': `import { registerHandler, HandlerType } from '${dist}';
        interface Request { id: string }
        @registerHandler({ requestType: 'ts_type', handlerType: HandlerType.REGION_REQUEST_HANDLER, name: 'ts-region' })
        export class TsRegion { processRegionRequest(request: Request): string { return request.id; } }
        export const manifests: unknown[] = [];`,
    });
    expect(loaded.rejected).toEqual([]);
    expect(loaded.manifests.map((m) => m.name)).toEqual(['ts-region']);
  });

  it.each(['index.mts', 'index.cts'])('loads %s', async (file) => {
    const body =
      file === 'index.cts'
        ? 'class R { processRegionRequest(): void {} }\nmodule.exports = { manifest: { requestType: "c", handlerType: "REGION_REQUEST_HANDLER", name: "c-region", handler: R } };'
        : 'class R { processRegionRequest(): void {} }\nexport const manifest = { requestType: "c", handlerType: "REGION_REQUEST_HANDLER" as const, name: "c-region", handler: R };';
    const loaded = await loadOnePlugin({ [`plugins/p/${file}`]: body });
    expect(loaded.manifests.map((m) => m.name)).toEqual(['c-region']);
  });

  it('names the file and the line of a syntax error, on one line, with a relative path', async () => {
    const loaded = await loadOnePlugin({
      'plugins/ts/index.ts': 'const x: number = 1;\nexport default {\n  a: 1\n  b: 2\n};\n',
    });
    expect(loaded.rejected[0]).toMatchObject({ code: 'IMPORT_FAILED', source: 'plugins/ts/index.ts' });
    const message = loaded.rejected[0]!.message;
    expect(message).toContain('plugins/ts/index.ts:4');
    expect(message).not.toContain('\n');
    expect(message).not.toContain(loaded.candidate.entry);
  });
});

describe('loadPlugins: reload', () => {
  it('imports a fresh copy when asked, and the cached one otherwise', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('first') });
    const [candidate] = await candidates(dir);
    expect((await loadPlugin(candidate!)).manifests[0]?.requestType).toBe('first');
    await writeTree(dir, { 'plugins/p/index.mjs': pairPlugin('second') });
    expect((await loadPlugin(candidate!)).manifests[0]?.requestType).toBe('first');
    expect((await loadPlugin(candidate!, { reload: '1' })).manifests[0]?.requestType).toBe('second');
  });

  it('keeps a TypeScript entry cached when no reload is asked, as for JavaScript', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.ts': pairPlugin('first') });
    const [candidate] = await candidates(dir);
    expect((await loadPlugin(candidate!)).manifests[0]?.requestType).toBe('first');
    await writeTree(dir, { 'plugins/p/index.ts': pairPlugin('second') });
    expect((await loadPlugin(candidate!)).manifests[0]?.requestType).toBe('first');
  });

  it('reloads TypeScript entries too', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.ts': pairPlugin('first') });
    const [candidate] = await candidates(dir);
    expect((await loadPlugin(candidate!, { reload: 'a' })).manifests[0]?.requestType).toBe('first');
    await writeTree(dir, { 'plugins/p/index.ts': pairPlugin('second') });
    expect((await loadPlugin(candidate!, { reload: 'b' })).manifests[0]?.requestType).toBe('second');
  });
});

describe('loadPlugin: review regressions', () => {
  it('a file that timed out can be imported again in a new reload generation once fixed', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': 'await new Promise(() => {});' });
    const [candidate] = await candidates(dir);
    expect((await loadPlugin(candidate!, { timeoutMs: 100, reload: 'a' })).rejected[0]?.code).toBe('IMPORT_TIMEOUT');
    expect((await loadPlugin(candidate!, { timeoutMs: 100, reload: 'a' })).rejected[0]?.code).toBe('IMPORT_TIMEOUT');
    await writeTree(dir, { 'plugins/p/index.mjs': pairPlugin('fixed') });
    expect(
      (await loadPlugin(candidate!, { timeoutMs: 1000, reload: 'b' })).manifests.map((m) => m.requestType),
    ).toEqual(['fixed', 'fixed']);
  });

  it('shows other absolute paths in import errors relative to the working directory', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/p/index.mjs': "import './nope.mjs';" });
    const [candidate] = await candidates(dir);
    const loaded = await loadPlugin(candidate!, { cwd: dir });
    expect(loaded.rejected[0]?.message).toContain('plugins/p/nope.mjs');
    expect(loaded.rejected[0]?.message).not.toContain(dir);
  });
});

describe('importTimeoutMs is honoured', () => {
  /** A project whose plugin `slow` awaits a timer of `ms` at its top level (or forever), and one good plugin. */
  async function slowProject(importTimeoutMs: number, ms: number | 'forever'): Promise<string> {
    const wait = ms === 'forever' ? 'new Promise(() => {})' : `new Promise((r) => setTimeout(r, ${ms}))`;
    return writeTree(await tempDir(), {
      'package.json': '{}',
      'osml-extensions.config.json': JSON.stringify({ cache: false, importTimeoutMs }),
      'plugins/good/index.mjs': pairPlugin('good'),
      'plugins/slow/index.mjs': `globalThis[Symbol.for('osml-test:waiting')]?.add(import.meta.url);
await ${wait};
${pairPlugin('slow')}`,
    });
  }
  const refusals = (ext: { rejected: { code: string; source: string }[] }) =>
    ext.rejected.map((r) => [r.code, r.source]);

  // The bound is the test's own timeout: with the 10 s default in force this test would time out.
  it(
    'cuts a hanging plugin off after importTimeoutMs: 300, not after the 10 s default',
    { timeout: 5_000 },
    async () => {
      const dir = await slowProject(300, 'forever');
      const started = performance.now();
      const ext = await loadExtensions({ cwd: dir, env: {} });
      expect(refusals(ext)).toEqual([['IMPORT_TIMEOUT', 'plugins/slow/index.mjs']]);
      expect(ext.rejected[0]?.message).toContain('within 300 ms');
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
      expect(ext.registry.isComplete('good')).toBe(true);
    },
  );

  /**
   * Boot with the clock faked: wait (in real time) until the slow plugin is waiting on its timer,
   * then move the clock `advanceMs` forward at once. Timers the loader and the plugin set both run
   * on that clock, so an 11 s import is judged in milliseconds.
   */
  async function bootWithClock(dir: string, advanceMs: number) {
    const waiting = new Set<string>();
    const key = Symbol.for('osml-test:waiting');
    (globalThis as Record<symbol, unknown>)[key] = waiting;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const booting = loadExtensions({ cwd: dir, env: {} });
      const started = performance.now();
      while (![...waiting].some((url) => url.startsWith(pathToFileURL(dir).href))) {
        if (performance.now() - started > 4_000) throw new Error('the slow plugin never started');
        await new Promise((resolve) => setImmediate(resolve));
      }
      await vi.advanceTimersByTimeAsync(advanceMs);
      return await booting;
    } finally {
      vi.useRealTimers();
      delete (globalThis as Record<symbol, unknown>)[key];
    }
  }

  it('lets a plugin allowed 30 s take 11 s: it is not cut at the 10 s default', async () => {
    const ext = await bootWithClock(await slowProject(30_000, 11_000), 11_000);
    expect(ext.rejected).toEqual([]);
    expect(ext.registry.isComplete('slow')).toBe(true);
  });

  it('cuts a plugin allowed 1 s that takes 1.5 s, naming the limit', async () => {
    const ext = await bootWithClock(await slowProject(1_000, 1_500), 1_500);
    expect(refusals(ext)).toEqual([['IMPORT_TIMEOUT', 'plugins/slow/index.mjs']]);
    expect(ext.rejected[0]?.message).toContain('within 1000 ms');
    expect(ext.registry.isComplete('good')).toBe(true);
  });
});
