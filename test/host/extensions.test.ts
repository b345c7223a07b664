import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExtensions } from '../../src/host/extensions.js';
import { HandlerType } from '../../src/shared/types.js';
import { fixture, pairPlugin, recordingLogger, tempDir, writeTree } from '../helpers/index.js';

const env = {};
const MARKER_PLUGIN = `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./IMPORTED', import.meta.url), 'ran');
${pairPlugin('marked')}`;

async function project(files: Record<string, string>): Promise<string> {
  return writeTree(await tempDir(), { 'package.json': '{}', ...files });
}

describe('loadExtensions', () => {
  it('registers built-ins first, then plugins in discovery order, and logs each', async () => {
    const logger = recordingLogger();
    const ext = await loadExtensions({ cwd: fixture('mixed'), env, logger });
    const names = ext.registry.list().map((h) => h.name);
    expect(names.slice(0, 2)).toEqual(['http-region', 'http-image']);
    expect(names.slice(2, 4)).toEqual(['cjs-region', 'cjs-image']);
    const registered = logger.lines.filter((l) => l.obj['event'] === 'handler.registered');
    expect(registered.map((l) => l.obj['name'])).toEqual(names);
    expect(registered[2]?.obj).toMatchObject({
      requestType: 'cjs_type',
      handlerType: 'REGION_REQUEST_HANDLER',
      source: 'plugins/commonjs/index.cjs',
    });
    const summary = logger.lines.find((l) => l.obj['event'] === 'boot.summary');
    expect(summary?.obj).toMatchObject({ handlers: names.length, rejected: 0, durationMs: expect.any(Number) });
  });

  it('logs each rejected plugin at error level with source, code and message, and keeps the others', async () => {
    const logger = recordingLogger();
    const ext = await loadExtensions({ cwd: fixture('error-syntax'), env, logger });
    const rejected = logger.lines.filter((l) => l.obj['event'] === 'plugin.rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      level: 'error',
      obj: { source: 'plugins/broken/index.mjs', code: 'IMPORT_FAILED', message: expect.any(String) },
    });
    expect(ext.registry.isComplete('good')).toBe(true);
  });

  it('keeps the first of two plugins claiming one slot', async () => {
    const ext = await loadExtensions({ cwd: fixture('error-duplicate-slot'), env });
    expect(ext.registry.get('shared', HandlerType.REGION_REQUEST_HANDLER)?.name).toBe('first-region');
    expect(ext.rejected.map((r) => [r.code, r.source])).toEqual([['DUPLICATE_SLOT', 'plugins/second/index.mjs']]);
    // the rest of the second plugin still registered
    expect(ext.registry.get('shared', HandlerType.IMAGE_REQUEST_HANDLER)?.name).toBe('second-image');
  });

  it('does not scan plugin folders when extensions are off', async () => {
    const dir = await project({ 'plugins/marked/index.mjs': MARKER_PLUGIN });
    const ext = await loadExtensions({ cwd: dir, env: { USE_EXTENSIONS: 'off' } });
    expect(ext.registry.list().map((h) => h.source)).toEqual(['builtin', 'builtin']);
    expect(existsSync(path.join(dir, 'plugins/marked/IMPORTED'))).toBe(false);
    expect(() => ext.resolve({ requestType: 'marked' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_REQUEST_TYPE' }),
    );
  });

  it('skips handlers named in `disabled` and warns about names that match nothing', async () => {
    const logger = recordingLogger();
    const dir = await project({
      'osml-extensions.config.json': JSON.stringify({ disabled: ['a-region', 'b-imag'] }),
      'plugins/a/index.mjs': pairPlugin('a'),
      'plugins/b/index.mjs': pairPlugin('b'),
    });
    const ext = await loadExtensions({ cwd: dir, env, logger });
    expect(ext.registry.byName('a-region')).toBeUndefined();
    expect(ext.registry.isComplete('a')).toBe(false);
    expect(ext.registry.isComplete('b')).toBe(true);
    const warning = logger.lines.find((l) => l.obj['event'] === 'config.disabled-unknown');
    expect(warning?.obj).toMatchObject({ name: 'b-imag', didYouMean: 'b-image' });
    expect(ext.disabled).toEqual({
      handlers: [
        { name: 'a-region', requestType: 'a', handlerType: 'REGION_REQUEST_HANDLER', source: 'plugins/a/index.mjs' },
      ],
      unknown: [{ name: 'b-imag', didYouMean: 'b-image' }],
    });
  });

  it('says in the resolution error that a refused plugin declared the type', async () => {
    const dir = await project({
      'plugins/half/index.mjs': `class R { processRegionRequest() {} }
        export default [
          { requestType: 'half', handlerType: 'REGION_REQUEST_HANDLER', name: 'half-region', handler: R },
          { requestType: 'half', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'half-image', handler: R },
        ];`,
    });
    const ext = await loadExtensions({ cwd: dir, env });
    expect(() => ext.resolve({ requestType: 'half' })).toThrow(/plugins\/half\/index\.mjs \(MANIFEST_INVALID\)/);
  });

  it('logs the selection', async () => {
    const logger = recordingLogger();
    const ext = await loadExtensions({ cwd: fixture('mixed'), env: { REQUEST_TYPE: 'custom_processing' }, logger });
    ext.resolve();
    expect(logger.lines.find((l) => l.obj['event'] === 'selection')?.obj).toEqual({
      event: 'selection',
      requestType: 'custom_processing',
      source: 'env',
      region: 'custom-region',
      image: 'custom-image',
      fallback: false,
    });
  });

  it('gives each call its own registry', async () => {
    const one = await loadExtensions({ cwd: fixture('mixed'), env });
    const two = await loadExtensions({ cwd: fixture('mixed'), env });
    expect(one.registry).not.toBe(two.registry);
    one.registry.unregister('cjs-region');
    expect(two.registry.byName('cjs-region')).toBeDefined();
  });
});

describe('start', () => {
  const throwing = `class Region { constructor() { throw new Error('no connection'); } processRegionRequest() {} }
    class Image { processImageRequest() {} }
    export default [
      { requestType: 'fragile', handlerType: 'REGION_REQUEST_HANDLER', name: 'fragile-region', handler: Region },
      { requestType: 'fragile', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'fragile-image', handler: Image },
    ];`;

  it('constructs the chosen pair with the deps', async () => {
    const ext = await loadExtensions({ cwd: fixture('mixed'), env });
    const pair = await ext.start<{ processRegionRequest: unknown }>({
      requestType: 'custom_processing',
      deps: { modelInvoker: { invoke: async () => ({ type: 'FeatureCollection', features: [] }) } },
    });
    // The plugin extends the package's build (dist/), so compare by name, not class identity.
    expect(pair.region.constructor.name).toBe('CustomRegion');
    expect(pair.region.processRegionRequest).toBeTypeOf('function');
    expect(pair.selection.region.name).toBe('custom-region');
  });

  it('fails on a construction error without fallback', async () => {
    const dir = await project({ 'plugins/fragile/index.mjs': throwing });
    const ext = await loadExtensions({ cwd: dir, env });
    await expect(ext.start({ requestType: 'fragile' })).rejects.toMatchObject({ code: 'HANDLER_CONSTRUCTION_FAILED' });
  });

  it('falls back to the built-in pair on a construction error, with a warning', async () => {
    const logger = recordingLogger();
    const dir = await project({ 'plugins/fragile/index.mjs': throwing });
    const ext = await loadExtensions({ cwd: dir, env: { EXTENSION_FALLBACK_ENABLED: 'true' }, logger });
    const pair = await ext.start({ requestType: 'fragile' });
    expect(pair.selection).toMatchObject({
      fallback: true,
      requestType: 'http',
      fallbackReason: expect.stringContaining('HANDLER_CONSTRUCTION_FAILED'),
    });
    expect(pair.selection.region.source).toBe('builtin');
    expect(pair.selection.image.source).toBe('builtin');
    const warning = logger.lines.find((l) => l.level === 'warn' && l.obj['event'] === 'selection');
    expect(warning?.obj).toMatchObject({ fallback: true, fallbackReason: expect.stringContaining('no connection') });
  });
});
