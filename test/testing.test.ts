/**
 * `osml-extensions/testing`: one plugin folder loaded as the host loads it, with every refusal
 * reported; the pair asserted and built with fake services.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isExtensionError } from '../src/shared/errors.js';
import { loadExtensions } from '../src/host/extensions.js';
import type { Feature, TileRequest } from '../src/handlers/types.js';
import { buildHandlers, captureLogs, expectCompletePair, fakeModelInvoker, loadPluginFolder } from '../src/testing.js';
import { HandlerType } from '../src/shared/types.js';
import { ROOT, codeOf, pairPlugin, tempDir, writeTree } from './helpers/index.js';

const DIST = path.join(ROOT, 'dist', 'index.js');
const point = (x: number, y: number): Feature => ({
  type: 'Feature',
  geometry: { type: 'Point', coordinates: [x, y] },
  properties: null,
});

/** A plugin with real base-class handlers (they tile and call `deps.modelInvoker`). */
const realPair = (requestType: string, extraRegion = ''): string => `
import { ImageRequestHandler, RegionRequestHandler } from ${JSON.stringify(DIST)};
export class Region extends RegionRequestHandler {}
export class Image extends ImageRequestHandler {}
export default [
  { requestType: '${requestType}', handlerType: 'REGION_REQUEST_HANDLER', name: '${requestType}-region', handler: Region ${extraRegion} },
  { requestType: '${requestType}', handlerType: 'IMAGE_REQUEST_HANDLER', name: '${requestType}-image', handler: Image },
];
`;

/** A plugin whose handlers keep the deps they were given. */
const recordingPair = `
export class Region { constructor(deps) { this.deps = deps; } processRegionRequest() {} }
export class Image { constructor(deps) { this.deps = deps; } processImageRequest() {} }
export default [
  { requestType: 'rec', handlerType: 'REGION_REQUEST_HANDLER', name: 'rec-region', handler: Region },
  { requestType: 'rec', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'rec-image', handler: Image },
];
`;

describe('loadPluginFolder', () => {
  it('loads just that folder into a fresh registry without built-ins; sources are relative to cwd', async () => {
    const cwd = await writeTree(await tempDir(), {
      'plugins/good/index.mjs': pairPlugin('good'),
      'plugins/sibling/index.mjs': pairPlugin('sibling'),
      'plugins/broken/index.mjs': 'throw new Error("never imported");\n',
    });
    const plugin = await loadPluginFolder(path.join(cwd, 'plugins', 'good'), { cwd });
    expect(plugin.rejected).toEqual([]);
    expect(plugin.dir).toBe(path.join(cwd, 'plugins', 'good'));
    expect(plugin.candidate?.source).toBe('plugins/good/index.mjs');
    expect(plugin.registry.list().map((h) => [h.name, h.source])).toEqual([
      ['good-region', 'plugins/good/index.mjs'],
      ['good-image', 'plugins/good/index.mjs'],
    ]);
    expect(plugin.registry.requestTypes()).toEqual(['good']);
  });

  it('takes dir relative to cwd', async () => {
    const cwd = await writeTree(await tempDir(), { 'ext/good/index.mjs': pairPlugin('good') });
    expect((await loadPluginFolder('ext/good', { cwd })).registry.list()).toHaveLength(2);
  });

  it("loads the repo's TypeScript plugins through jiti, as the host does", async () => {
    const plugin = await loadPluginFolder(path.join(ROOT, 'plugins', 'sm-endpoint'), { cwd: ROOT });
    expect(plugin.rejected).toEqual([]);
    const { region, image } = expectCompletePair(plugin, 'sm_endpoint');
    expect([region.source, image.source]).toEqual(['plugins/sm-endpoint/index.ts', 'plugins/sm-endpoint/index.ts']);
  });

  it.each([
    ['ENTRY_NOT_FOUND', { 'plugins/p/notes.txt': 'no entry here' }],
    ['PACKAGE_JSON_INVALID', { 'plugins/p/package.json': '{ not json' }],
    ['IMPORT_FAILED', { 'plugins/p/index.mjs': 'throw new Error("boom");\n' }],
    ['MANIFEST_MISSING', { 'plugins/p/index.mjs': 'export const x = 1;\n' }],
    [
      'MANIFEST_INVALID',
      {
        'plugins/p/index.mjs':
          "class R { processRegionRequest() {} }\nexport default { requestType: 'Bad Type', handlerType: 'REGION_REQUEST_HANDLER', name: 'p-region', handler: R };\n",
      },
    ],
    [
      'DUPLICATE_SLOT',
      {
        'plugins/p/index.mjs': `${pairPlugin('p')}\nclass R2 { processRegionRequest() {} }\nexport const manifest = { requestType: 'p', handlerType: 'REGION_REQUEST_HANDLER', name: 'p-region-2', handler: R2 };\n`,
      },
    ],
    ['DUPLICATE_SLOT', { 'plugins/p/index.mjs': pairPlugin('http', 'mine') }],
    ['DUPLICATE_NAME', { 'plugins/p/index.mjs': pairPlugin('p', 'http') }],
  ])('reports %s as a boot would, naming the plugin', async (code, files) => {
    const cwd = await writeTree(await tempDir(), files);
    const plugin = await loadPluginFolder('plugins/p', { cwd });
    expect(plugin.rejected.map((r) => r.code)).toContain(code);
    for (const r of plugin.rejected) expect(r.source.startsWith('plugins/p')).toBe(true);
    // Built-ins only ever took part in the clash check.
    expect(plugin.registry.list().every((h) => h.source !== 'builtin')).toBe(true);
  });

  it.each([
    ['a missing folder', 'plugins/nope'],
    ['a "_" folder the host skips', 'plugins/_shared'],
    ['a file', 'plugins/file.txt'],
  ])('refuses %s with a TypeError', async (_what, dir) => {
    const cwd = await writeTree(await tempDir(), {
      'plugins/_shared/index.mjs': pairPlugin('x'),
      'plugins/file.txt': 'x',
    });
    await expect(loadPluginFolder(dir, { cwd })).rejects.toBeInstanceOf(TypeError);
  });
});

describe('expectCompletePair', () => {
  it('returns the region and image entries', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('pp') });
    const { region, image } = expectCompletePair(await loadPluginFolder('plugins/p', { cwd }), 'pp');
    expect([region.handlerType, image.handlerType]).toEqual([
      HandlerType.REGION_REQUEST_HANDLER,
      HandlerType.IMAGE_REQUEST_HANDLER,
    ]);
  });

  it('throws INCOMPLETE_REQUEST_TYPE naming the empty slot, with the refusal as cause', async () => {
    const cwd = await writeTree(await tempDir(), {
      'plugins/p/index.mjs':
        "class R { processRegionRequest() {} }\nclass I {}\nexport default [\n { requestType: 'half', handlerType: 'REGION_REQUEST_HANDLER', name: 'half-region', handler: R },\n { requestType: 'half', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'half-image', handler: I },\n];\n",
    });
    const plugin = await loadPluginFolder('plugins/p', { cwd });
    let thrown: unknown;
    try {
      expectCompletePair(plugin, 'half');
    } catch (error) {
      thrown = error;
    }
    expect(isExtensionError(thrown, 'INCOMPLETE_REQUEST_TYPE')).toBe(true);
    expect((thrown as Error).message).toContain(HandlerType.IMAGE_REQUEST_HANDLER);
    expect((thrown as Error).message).toContain('plugins/p/index.mjs (MANIFEST_INVALID)');
    expect(isExtensionError((thrown as Error).cause, 'MANIFEST_INVALID')).toBe(true);
  });

  it('throws UNKNOWN_REQUEST_TYPE for a type the plugin does not serve', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('served') });
    const plugin = await loadPluginFolder('plugins/p', { cwd });
    expect(await codeOf(() => expectCompletePair(plugin, 'servd'))).toBe('UNKNOWN_REQUEST_TYPE');
  });
});

describe('fakeModelInvoker', () => {
  const tile: TileRequest = { imageId: 'i', endpoint: 'e', bounds: { x: 0, y: 0, width: 8, height: 8 } };

  it('answers with no features by default and records every call', async () => {
    const invoker = fakeModelInvoker();
    expect(await invoker.invoke(tile)).toEqual({ type: 'FeatureCollection', features: [] });
    await invoker.invoke({ ...tile, imageId: 'j' });
    expect(invoker.calls.map((c) => c.imageId)).toEqual(['i', 'j']);
  });

  it('answers with copies of the given features, so a handler cannot change the next answer', async () => {
    const invoker = fakeModelInvoker([point(1, 2)]);
    const first = await invoker.invoke(tile);
    (first.features[0]!.geometry as { coordinates: number[] }).coordinates[0] = 99;
    expect((await invoker.invoke(tile)).features).toEqual([point(1, 2)]);
  });

  it('answers per tile with a function', async () => {
    const invoker = fakeModelInvoker((t) => [point(t.bounds.x, 0)]);
    expect((await invoker.invoke({ ...tile, bounds: { ...tile.bounds, x: 7 } })).features).toEqual([point(7, 0)]);
  });
});

describe('buildHandlers', () => {
  it('builds region first, then image with regionRequestHandler, on fake deps overlaid with yours', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/rec/index.mjs': recordingPair });
    const plugin = await loadPluginFolder('plugins/rec', { cwd });
    const built = await buildHandlers<{ deps: Record<string, unknown> }, { deps: Record<string, unknown> }>(
      plugin,
      'rec',
      { table: 'mine' },
    );
    expect(Object.keys(built.region.deps).sort()).toEqual(['logger', 'modelInvoker', 'table']);
    expect(built.image.deps['regionRequestHandler']).toBe(built.region);
    expect(built.deps['table']).toBe('mine');
    expect(built.selection).toMatchObject({ requestType: 'rec', fallback: false });

    const mine = fakeModelInvoker();
    expect((await buildHandlers(plugin, 'rec', { modelInvoker: mine })).deps.modelInvoker).toBe(mine);
  });

  it('runs processImageRequest end to end against the fake model, in image coordinates', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/real/index.mjs': realPair('real') });
    const plugin = await loadPluginFolder('plugins/real', { cwd });
    const modelInvoker = fakeModelInvoker([point(8, 8)]);
    const { image } = await buildHandlers(plugin, 'real', { modelInvoker, tiling: { tileSize: 512, tileOverlap: 0 } });
    const result = await image.processImageRequest({
      imageId: 'img',
      endpoint: 'http://model.test',
      width: 1024,
      height: 512,
    });
    expect(modelInvoker.calls.map((c) => c.bounds.x)).toEqual([0, 512]);
    expect(result.features.map((f) => f.geometry)).toEqual([point(8, 8).geometry, point(520, 8).geometry]);
  });

  it('fails with DEPENDENCY_MISSING as a boot would when `requires` is not met', async () => {
    const cwd = await writeTree(await tempDir(), {
      'plugins/needy/index.mjs': realPair('needy', ", requires: ['table']"),
    });
    const plugin = await loadPluginFolder('plugins/needy', { cwd });
    expect(await codeOf(() => buildHandlers(plugin, 'needy'))).toBe('DEPENDENCY_MISSING');
    await expect(buildHandlers(plugin, 'needy', { table: {} })).resolves.toHaveProperty('region');
  });

  it('throws like expectCompletePair for a type the plugin does not serve', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('full') });
    const plugin = await loadPluginFolder('plugins/p', { cwd });
    expect(await codeOf(() => buildHandlers(plugin, 'other'))).toBe('UNKNOWN_REQUEST_TYPE');
  });
});

describe('captureLogs', () => {
  it('records every call with level, fields and message', () => {
    const logs = captureLogs();
    logs.info({ event: 'a', n: 1 }, 'first');
    logs.warn({ event: 'b' });
    expect(logs.entries).toEqual([
      { level: 'info', obj: { event: 'a', n: 1 }, msg: 'first' },
      { level: 'warn', obj: { event: 'b' }, msg: undefined },
    ]);
  });

  it('is a Logger the library accepts', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/p/index.mjs': pairPlugin('logged') });
    const logger = captureLogs();
    await loadExtensions({ cwd, env: {}, logger });
    expect(logger.entries.map((e) => e.obj['event'])).toContain('boot.summary');
  });
});

describe('loadPluginFolder vets like a boot', () => {
  it('refuses a plugin whose entry escapes its folder, without running it', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'package.json': '{}',
      'elsewhere/evil.mjs':
        "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./RAN', import.meta.url), 'ran');\nexport default {};",
      'plugins/a/package.json': '{"main": "../../elsewhere/evil.mjs"}',
    });
    const plugin = await loadPluginFolder(path.join(dir, 'plugins/a'), { cwd: dir });
    expect(plugin.rejected.map((r) => r.code)).toEqual(['PATH_ESCAPE']);
    expect(existsSync(path.join(dir, 'elsewhere/RAN'))).toBe(false);
  });
});
