/**
 * The error table, enumerated: every code has a scenario here that produces it through the real
 * code path, and a new code without a scenario fails the first test.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_HANDLERS } from '../../src/plugin/builtins.js';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config.js';
import { discover } from '../../src/boot/discover.js';
import {
  describeThrown,
  ERROR_CODES,
  ExtensionError,
  isExtensionError,
  type ErrorCode,
} from '../../src/shared/errors.js';
import { instantiate } from '../../src/select/instantiate.js';
import { loadExtensions } from '../../src/host/extensions.js';
import { loadPlugin } from '../../src/boot/load.js';
import { validateManifest } from '../../src/plugin/manifest.js';
import { Registry } from '../../src/plugin/registry.js';
import { resolveSelection, type Selection } from '../../src/select/resolve.js';
import { HandlerType } from '../../src/shared/types.js';
import { watch } from '../../src/host/watch.js';
import {
  fixture,
  makeConfig,
  pairPlugin,
  recordingLogger,
  ROOT,
  runCli,
  tempDir,
  writeTree,
} from '../helpers/index.js';
import { silentLogger } from '../../src/shared/types.js';
import { vet } from '../../src/boot/vet.js';
import { RegionRequestHandler } from '../../src/handlers/region-handler.js';
import { locateImage } from '../../src/runner/locate.js';
import { readModelOutput } from '../../src/runner/model-output.js';
import { openImage } from '../../src/runner/read.js';
import { buildRunRequest } from '../../src/runner/request.js';
import { writeFeaturesToFile } from '../../src/runner/write.js';
import { createAwsServices } from '../../src/services/aws.js';
import { HttpModelInvoker } from '../../src/services/http-model.js';

/** What a scenario observed: the code, and the text that must name where the problem is. */
interface Observed {
  code: string;
  message: string;
  where: string;
}

async function thrown(run: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ExtensionError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an ExtensionError');
}

async function viaCli(args: string[]): Promise<{ code: string; message: string }> {
  let out = '';
  await main([...args, '--json', '--log-level', 'silent'], { stdout: (text) => void (out += text) });
  return (JSON.parse(out) as { error: { code: string; message: string } }).error;
}

const candidate = (scenario: string, folder: string) => {
  const dir = path.join(fixture(scenario), 'plugins', folder);
  const entry = path.join(dir, 'index.mjs');
  return { name: folder, root: path.dirname(dir), dir, entry, source: path.relative(ROOT, entry) };
};

const I = HandlerType.IMAGE_REQUEST_HANDLER;
const handler = (name: string, patch: object = {}) => ({
  ...BUILTIN_HANDLERS.region,
  name,
  source: `plugins/${name}/index.mjs`,
  ...patch,
});
const selection = (region: object, image: object = BUILTIN_HANDLERS.image): Selection =>
  ({ requestType: 'x', source: 'argument', fallback: false, region, image }) as Selection;

const scenarios: Record<ErrorCode, () => Promise<Observed>> = {
  CONFIG_INVALID: async () => ({
    ...(await thrown(() => loadConfig({ cwd: ROOT, env: { USE_EXTENSIONS: 'maybe' } }))),
    where: 'USE_EXTENSIONS',
  }),
  USAGE_INVALID: async () => ({ ...(await viaCli(['lsit'])), where: 'lsit' }),
  PLUGINS_REJECTED: async () => ({
    ...(await viaCli(['resolve', '--strict', '--cwd', fixture('error-throw')])),
    where: 'plugins/throws/index.mjs',
  }),
  ROOT_INVALID: async () => {
    const { rejected } = await discover({ roots: [path.join(ROOT, 'no-such-root')], cwd: ROOT });
    return { ...rejected[0]!, where: 'no-such-root' };
  },
  ENTRY_NOT_FOUND: async () => {
    const { rejected } = await discover({
      roots: [path.join(fixture('error-no-entry'), 'plugins')],
      cwd: fixture('error-no-entry'),
    });
    return { ...rejected[0]!, where: 'plugins/empty' };
  },
  PACKAGE_JSON_INVALID: async () => {
    const { rejected } = await discover({
      roots: [path.join(fixture('error-bad-package-json'), 'plugins')],
      cwd: fixture('error-bad-package-json'),
    });
    return { ...rejected[0]!, where: 'plugins/bad-json/package.json' };
  },
  IMPORT_FAILED: async () => {
    const c = candidate('error-throw', 'throws');
    return { ...(await loadPlugin(c)).rejected[0]!, where: c.source };
  },
  MANIFEST_MISSING: async () => {
    const c = candidate('error-no-manifest', 'helpers-only');
    return { ...(await loadPlugin(c)).rejected[0]!, where: c.source };
  },
  MANIFEST_INVALID: async () => ({
    ...(await thrown(() => validateManifest({}, 'plugins/x/index.mjs'))),
    where: 'plugins/x/index.mjs',
  }),
  MANIFEST_CHANGED: async () => {
    // The manifest depends on something outside the plugin's folder (an env var): the cache cannot see it.
    const dir = await writeTree(await tempDir(), {
      'package.json': '{}',
      'plugins/moody/index.mjs': `class R { processRegionRequest() {} }
        class I { processImageRequest() {} }
        const name = process.env.OSML_TEST_MOODY ?? 'calm';
        export default [
          { requestType: 'moody', handlerType: 'REGION_REQUEST_HANDLER', name: name + '-region', handler: R },
          { requestType: 'moody', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'moody-image', handler: I },
        ];`,
    });
    await loadExtensions({ cwd: dir, env: {}, reload: 'first' });
    process.env['OSML_TEST_MOODY'] = 'angry';
    try {
      const ext = await loadExtensions({ cwd: dir, env: {}, reload: 'second' });
      return { ...(await thrown(() => ext.start({ requestType: 'moody' }))), where: 'plugins/moody/index.mjs' };
    } finally {
      delete process.env['OSML_TEST_MOODY'];
    }
  },
  IMPORT_TIMEOUT: async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/hang/index.mjs': 'await new Promise(() => {});' });
    const [c] = (await discover({ roots: [path.join(dir, 'plugins')], cwd: dir })).plugins;
    return { ...(await loadPlugin(c!, { timeoutMs: 100 })).rejected[0]!, where: 'plugins/hang/index.mjs' };
  },
  VANISHED: async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/gone/index.mjs': 'export default {};' });
    const { plugins } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    await rm(path.join(dir, 'plugins/gone/index.mjs'));
    return {
      ...(await vet(plugins, makeConfig({ cwd: dir }), undefined, silentLogger)).rejected[0]!,
      where: 'plugins/gone/index.mjs',
    };
  },
  ENTRY_TOO_LARGE: async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/big/index.mjs': `// ${'x'.repeat(2048)}` });
    const { plugins } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    return {
      ...(await vet(plugins, makeConfig({ cwd: dir, maxEntryBytes: 1024 }), undefined, silentLogger)).rejected[0]!,
      where: 'plugins/big/index.mjs',
    };
  },
  PATH_ESCAPE: async () => {
    const dir = await writeTree(await tempDir(), {
      'outside.mjs': 'export default {};',
      'plugins/esc/package.json': '{"main": "../../outside.mjs"}',
    });
    const { plugins } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    return {
      ...(await vet(plugins, makeConfig({ cwd: dir }), undefined, silentLogger)).rejected[0]!,
      where: 'plugins/esc',
    };
  },
  PERMISSION_DENIED: async () => {
    // Root reads everything, so the loader runs without root's read-anything capabilities.
    const dir = await writeTree(await tempDir(), {
      'package.json': '{}',
      'plugins/locked/index.mjs': 'export default {};',
    });
    await chmod(dir, 0o755);
    await chmod(path.join(dir, 'plugins/locked'), 0o000);
    const run = await runCli(['check', '--json', '--no-cache', '--log-level', 'silent'], {
      cwd: dir,
      unprivileged: true,
    });
    const doc = JSON.parse(run.stdout) as { rejected: Observed[] };
    return { ...doc.rejected[0]!, where: 'plugins/locked' };
  },
  BAD_FILENAME: async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'plugins', 'bad\u0007name'), { recursive: true });
    const { rejected } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    return { ...rejected[0]!, where: 'bad\\x07name' };
  },
  INSECURE_PERMISSIONS: async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/open/index.mjs': 'export default {};' });
    await chmod(path.join(dir, 'plugins/open'), 0o777);
    const { plugins } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    return {
      ...(await vet(plugins, makeConfig({ cwd: dir }), undefined, silentLogger)).rejected[0]!,
      where: 'plugins/open',
    };
  },
  INTEGRITY_MISMATCH: async () => {
    const dir = await writeTree(await tempDir(), {
      'package.json': '{}',
      'plugins/pinned/index.mjs': pairPlugin('pinned'),
    });
    await runCli(['lock', '--log-level', 'silent'], { cwd: dir });
    await writeTree(dir, { 'plugins/pinned/index.mjs': pairPlugin('changed') });
    const ext = await loadExtensions({ cwd: dir, env: {} });
    return { ...ext.rejected[0]!, where: 'plugins/pinned/index.mjs' };
  },
  UNPINNED: async () => {
    const dir = await writeTree(await tempDir(), {
      'package.json': '{}',
      'plugins/pinned/index.mjs': pairPlugin('pinned'),
    });
    await runCli(['lock', '--log-level', 'silent'], { cwd: dir });
    await writeTree(dir, { 'plugins/newcomer/index.mjs': pairPlugin('newcomer') });
    const ext = await loadExtensions({ cwd: dir, env: {} });
    return { ...ext.rejected[0]!, where: 'plugins/newcomer/index.mjs' };
  },
  SELECTED_PLUGIN_REFUSED: async () => {
    const ext = await loadExtensions({ cwd: fixture('error-duplicate-slot'), env: {} });
    return { ...(await thrown(() => ext.resolve({ requestType: 'shared' }))), where: 'plugins/second/index.mjs' };
  },
  DUPLICATE_SLOT: async () => {
    const registry = new Registry();
    registry.add(handler('first'));
    return { ...(await thrown(() => registry.add(handler('second')))), where: 'plugins/second/index.mjs' };
  },
  DUPLICATE_NAME: async () => {
    const registry = new Registry();
    registry.add(handler('same'));
    return {
      ...(await thrown(() => registry.add(handler('same', { requestType: 'other', source: 'plugins/b/index.mjs' })))),
      where: 'plugins/b/index.mjs',
    };
  },
  UNKNOWN_REQUEST_TYPE: async () => {
    const ctx = { registry: new Registry(), config: makeConfig(), rejected: [] };
    return { ...(await thrown(() => resolveSelection(ctx, { requestType: 'nope' }))), where: 'nope' };
  },
  INCOMPLETE_REQUEST_TYPE: async () => {
    const registry = new Registry();
    registry.add(handler('half-region', { requestType: 'half' }));
    const ctx = { registry, config: makeConfig(), rejected: [] };
    return { ...(await thrown(() => resolveSelection(ctx, { requestType: 'half' }))), where: I };
  },
  ENDPOINT_UNSUPPORTED: async () => {
    const registry = new Registry();
    registry.add(handler('sm-region', { requestType: 'sm', supportedEndpoints: ['sagemaker'] }));
    registry.add(handler('sm-image', { requestType: 'sm', handlerType: I }));
    const ctx = { registry, config: makeConfig(), rejected: [] };
    return {
      ...(await thrown(() => resolveSelection(ctx, { requestType: 'sm', endpoint: 'http' }))),
      where: 'plugins/sm-region/index.mjs',
    };
  },
  DEPENDENCY_MISSING: async () => ({
    ...(await thrown(() => instantiate(selection(handler('needy', { requires: ['table'] }))))),
    where: 'plugins/needy/index.mjs',
  }),
  HANDLER_CONSTRUCTION_FAILED: async () => {
    const Throws = class {
      constructor() {
        throw new Error('no table');
      }
      processRegionRequest(): void {}
    };
    return {
      ...(await thrown(() => instantiate(selection(handler('throws', { load: async () => Throws }))))),
      where: 'plugins/throws/index.mjs',
    };
  },
  WATCH_FAILED: async () => {
    const dir = await tempDir();
    const logger = recordingLogger();
    const live = await watch({ config: makeConfig({ cwd: dir, pluginDirs: [path.join(dir, 'gone')] }), logger });
    await live.close();
    const line = logger.lines.find((l) => l.obj['event'] === 'watch.failed');
    return { code: String(line?.obj['code']), message: String(line?.obj['message']), where: 'gone' };
  },
  RELOAD_LIMIT: async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/a/index.mjs': pairPlugin('a') });
    const live = await watch({
      config: makeConfig({ cwd: dir, pluginDirs: [path.join(dir, 'plugins')] }),
      maxReloads: 1,
      debounceMs: 20,
    });
    const failure = new Promise<Error>((resolve) => live.on('error', ({ error }) => resolve(error)));
    await writeTree(dir, { 'plugins/b/index.mjs': pairPlugin('b') });
    const error = await failure;
    await live.close();
    return {
      code: isExtensionError(error) ? error.code : 'not an ExtensionError',
      message: error.message,
      where: 'maxReloads',
    };
  },
  TARGET_EXISTS: async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/taken/keep.txt': 'mine' });
    return { ...(await viaCli(['init', 'taken', '--request-type', 'taken', '--cwd', dir])), where: 'plugins/taken' };
  },
  SPECIAL_FILE: async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/piped/index.mjs': pairPlugin('piped') });
    execFileSync('mkfifo', [path.join(dir, 'plugins', 'piped', 'queue')]);
    return { ...(await viaCli(['lock', '--cwd', dir])), where: 'plugins/piped/queue' };
  },
  REQUEST_INVALID: async () => ({
    ...(await thrown(() =>
      buildRunRequest({ request: { imageUrls: [], imageProcessor: { name: 'm' } }, requestSource: 'job.json' }),
    )),
    where: 'job.json',
  }),
  IMAGE_UNREADABLE: async () => ({
    ...(await thrown(() => locateImage('no-such-scene.tif'))),
    where: 'no-such-scene.tif',
  }),
  IMAGE_UNSUPPORTED: async () => {
    const sample = path.join(ROOT, 'examples', 'sample', 'sample.tif');
    return { ...(await thrown(() => openImage(sample, { label: 'sample.tif', maxPixels: 100 }))), where: 'sample.tif' };
  },
  UNSUPPORTED: async () => ({
    ...(await thrown(() =>
      buildRunRequest({ image: 'x.tif', options: { endpoint: 'http://m/', tileFormat: 'NITF' } }),
    )),
    where: 'imageProcessorTileFormat',
  }),
  MODEL_FAILED: async () => {
    const invoker = new HttpModelInvoker({ retries: 0 });
    const tile = {
      imageId: 'i',
      endpoint: 'http://127.0.0.1:9/invocations',
      bounds: { x: 0, y: 0, width: 8, height: 8 },
      name: 'tile 1/1',
    };
    return { ...(await thrown(() => invoker.invoke(tile))), where: 'tile 1/1' };
  },
  MODEL_OUTPUT_INVALID: async () => {
    const context = { tile: { x: 0, y: 0, width: 8, height: 8 }, tileName: 'tile 2/9', endpoint: 'http://m/' };
    return { ...(await thrown(() => readModelOutput('not json', context))), where: 'tile 2/9' };
  },
  TILE_TOO_LARGE: async () => {
    const modelInvoker = {
      maxBodyBytes: 10,
      invoke: () => Promise.resolve({ type: 'FeatureCollection' as const, features: [] }),
    };
    const image = {
      readWindow: () =>
        Promise.resolve({ data: Buffer.alloc(64 * 64 * 3, 200), width: 64, height: 64, channels: 3 as const }),
    };
    const region = { x: 0, y: 0, width: 64, height: 64 };
    const result = await new RegionRequestHandler({ modelInvoker }).processRegionRequest({
      imageId: 'i',
      endpoint: 'e',
      region,
      image,
    });
    const failure = result.failedTiles?.[0];
    return { code: failure?.code ?? 'none', message: failure?.message ?? '', where: 'tile 1/1' };
  },
  ASYNC_INPUT_FAILED: async () => {
    // No input location configured: the async service refuses before any S3 or SageMaker call.
    const { sagemakerRuntime } = createAwsServices({});
    const tile = { imageId: 'i', endpoint: 'my-async-endpoint', bounds: { x: 0, y: 0, width: 8, height: 8 } };
    return { ...(await thrown(() => sagemakerRuntime.invokeEndpointAsync(tile))), where: 'my-async-endpoint' };
  },
  OUTPUT_FAILED: async () => {
    const missing = path.join(await tempDir(), 'no-such-folder', 'out.geojson');
    return {
      ...(await thrown(() => writeFeaturesToFile([], missing, 'no-such-folder/out.geojson'))),
      where: 'no-such-folder/out.geojson',
    };
  },
};

describe('the error table', () => {
  it('has a scenario for every code, and no scenario for a code that does not exist', () => {
    expect(Object.keys(scenarios).sort()).toEqual(ERROR_CODES.map((e) => e.code).sort());
  });

  it('gives every code a summary', () => {
    for (const { summary } of ERROR_CODES) expect(summary.length).toBeGreaterThan(10);
  });

  it.each(ERROR_CODES.map((e) => e.code))('%s is produced by its scenario and names where', async (code) => {
    const observed = await scenarios[code]();
    expect(observed.code).toBe(code);
    expect(observed.message).toContain(observed.where);
  });

  it('is documented: every code is a row of the error table in docs/errors.md', async () => {
    const table = await readFile(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    for (const { code } of ERROR_CODES) expect(table).toContain(`| \`${code}\` |`);
  });

  it('keeps the cause when wrapping', async () => {
    const c = candidate('error-throw', 'throws');
    const { rejected } = await loadPlugin(c);
    expect((rejected[0]!.error.cause as Error).message).toBe('database connection refused');
  });

  it('is one class with a stable name and the params it was built from', () => {
    const error = new ExtensionError('DUPLICATE_NAME', { name: 'n', file: 'a', keptSource: 'b' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ExtensionError');
    expect(error.params).toEqual({ name: 'n', file: 'a', keptSource: 'b' });
  });
});

describe('describeThrown', () => {
  const hostile = {
    toString() {
      throw new Error('nope');
    },
  };
  it.each([
    ['null', null, 'threw null'],
    ['a number', 42, 'threw 42'],
    ['undefined', undefined, 'threw undefined'],
    ['a string', 'plain text', 'plain text'],
    ['an Error', new TypeError('bad'), 'TypeError: bad'],
    ['an object whose toString throws', hostile, 'cannot be printed'],
  ])('describes %s without throwing', (_label, value, expected) => {
    expect(describeThrown(value)).toContain(expected);
  });
});
