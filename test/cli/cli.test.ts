/**
 * The CLI contract, through the built bin as a subprocess: the JSON documents, the exit codes
 * (0 ok, 1 failure, 2 usage), the request-type precedence, strict mode, logging to stderr only,
 * and the config/plugin-root options. Each test runs against its own temp tree unless it is
 * about the repository's own plugins.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ListDocument, SelectionDocument } from '../../src/cli/output.js';
import { ROOT, fixture, logLines, pairPlugin, runCli, tempDir, writeTree, type CliResult } from '../helpers/index.js';
import { spawn } from 'node:child_process';
import { COMMANDS, main } from '../../src/cli/main.js';
import type { Explanation } from '../../src/select/explain.js';
import { BIN } from '../helpers/index.js';

/** stdout must be exactly one JSON document (one line, newline-terminated). */
function parseDoc<T = unknown>(result: CliResult): T {
  expect(result.stdout.endsWith('\n'), `stdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(true);
  expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
  return JSON.parse(result.stdout) as T;
}

/** The `{ error: { code, message } }` document, with exactly those keys. */
function parseError(result: CliResult): { code: string; message: string } {
  const doc = parseDoc<{ error: { code: string; message: string } }>(result);
  expect(Object.keys(doc)).toEqual(['error']);
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'message']);
  expect(typeof doc.error.message).toBe('string');
  return doc.error;
}

/** `builtin`, or a relative `/`-separated path that stays inside the working directory. */
function expectSource(source: string): void {
  if (source === 'builtin') return;
  expect(path.isAbsolute(source), source).toBe(false);
  expect(source).not.toContain('\\');
  expect(source.split('/')).not.toContain('..');
  expect(source).toMatch(/^[^/]+(\/[^/]+)+$/);
}

const byName = (doc: ListDocument) => Object.fromEntries(doc.handlers.map((h) => [h.name, h]));
const rejectedPlugin = 'export const helper = () => 1;\n'; // imports fine, exports no manifest → MANIFEST_MISSING

/** A temp tree with a complete `good` pair, optionally a refused plugin, and a config. */
async function tree(
  options: { rejected?: boolean; config?: object; extra?: Record<string, string> } = {},
): Promise<string> {
  const dir = await tempDir();
  return writeTree(dir, {
    'osml-extensions.config.json': JSON.stringify(options.config ?? {}),
    'plugins/good/index.mjs': pairPlugin('good'),
    ...(options.rejected === true ? { 'plugins/bad/index.mjs': rejectedPlugin } : {}),
    ...options.extra,
  });
}

describe('list --json', () => {
  it('prints one document with exactly handlers, rejected, requestTypes; handlers have only the documented keys', async () => {
    const result = await runCli(['list', '--json']);
    expect(result.code).toBe(0);
    const doc = parseDoc<ListDocument>(result);
    expect(Object.keys(doc).sort()).toEqual(['handlers', 'rejected', 'requestTypes']);
    for (const h of doc.handlers) {
      const optional = Object.keys(h).filter((k) => !['name', 'requestType', 'handlerType', 'source'].includes(k));
      expect(
        optional.every((k) => k === 'description' || k === 'supportedEndpoints'),
        Object.keys(h).join(),
      ).toBe(true);
      expect(['REGION_REQUEST_HANDLER', 'IMAGE_REQUEST_HANDLER']).toContain(h.handlerType);
      expectSource(h.source);
    }
    const handlers = byName(doc);
    expect(Object.keys(handlers).sort()).toEqual([
      'async-sm-endpoint-image',
      'async-sm-endpoint-region',
      'http-image',
      'http-region',
      'sm-endpoint-image',
      'sm-endpoint-region',
    ]);
    expect(handlers['http-region']?.source).toBe('builtin');
    expect(handlers['sm-endpoint-region']).toMatchObject({
      source: 'plugins/sm-endpoint/index.ts',
      supportedEndpoints: ['sagemaker'],
    });
    expect(handlers['sm-endpoint-region']).not.toHaveProperty('requires');
    expect(handlers['sm-endpoint-region']).not.toHaveProperty('handler');
    expect(handlers['async-sm-endpoint-image']?.source).toBe('plugins/async-sm-endpoint/index.ts');
    expect(doc.rejected).toEqual([]);
    expect(doc.requestTypes).toStrictEqual({
      async_sm_endpoint: { complete: true },
      http: { complete: true },
      sm_endpoint: { complete: true },
    });
  });

  it('reports a rejection with exactly source, code, message and an incomplete type as complete: false', async () => {
    const dir = await tree({
      rejected: true,
      extra: {
        'plugins/half/index.mjs':
          "class R { processRegionRequest() {} }\nexport default { requestType: 'half', handlerType: 'REGION_REQUEST_HANDLER', name: 'half-region', handler: R };\n",
      },
    });
    const result = await runCli(['list', '--json', '--cwd', dir]);
    const doc = parseDoc<ListDocument>(result);
    expect(doc.rejected).toHaveLength(1);
    expect(Object.keys(doc.rejected[0] ?? {}).sort()).toEqual(['code', 'message', 'source']);
    expect(doc.rejected[0]).toMatchObject({ source: 'plugins/bad/index.mjs', code: 'MANIFEST_MISSING' });
    expect(doc.rejected[0]?.message).toContain('plugins/bad/index.mjs');
    expect(doc.requestTypes).toStrictEqual({
      good: { complete: true },
      half: { complete: false },
      http: { complete: true },
    });
    for (const h of doc.handlers) expectSource(h.source);
  });
});

describe('resolve --json', () => {
  /** Plugins for every rung of the precedence, a config that pins `cfg_type`, and one that pins nothing. */
  async function precedenceTree(): Promise<string> {
    const dir = await tempDir();
    return writeTree(dir, {
      'osml-extensions.config.json': JSON.stringify({ requestType: 'cfg_type' }),
      'plain.json': JSON.stringify({}),
      'plugins/arg/index.mjs': pairPlugin('arg_type'),
      'plugins/env/index.mjs': pairPlugin('env_type'),
      'plugins/cfg/index.mjs': pairPlugin('cfg_type'),
      'plugins/sm/index.mjs': pairPlugin('sm_endpoint'),
      'plugins/async/index.mjs': pairPlugin('async_sm_endpoint'),
    });
  }
  const resolve = async (dir: string, args: string[], env: Record<string, string> = {}): Promise<SelectionDocument> => {
    const result = await runCli(['resolve', '--json', '--cwd', dir, ...args], { env });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return parseDoc<SelectionDocument>(result);
  };

  it('prints exactly requestType, source, fallback, region {name, source}, image {name, source}', async () => {
    const dir = await precedenceTree();
    const doc = await resolve(dir, ['--request-type', 'arg_type']);
    expect(Object.keys(doc).sort()).toEqual(['fallback', 'image', 'region', 'requestType', 'source']);
    expect(doc).toStrictEqual({
      requestType: 'arg_type',
      source: 'argument',
      fallback: false,
      region: { name: 'arg-type-region', source: 'plugins/arg/index.mjs' },
      image: { name: 'arg-type-image', source: 'plugins/arg/index.mjs' },
    });
  });

  it('--request-type beats REQUEST_TYPE, the config and the endpoint type', async () => {
    const dir = await precedenceTree();
    const doc = await resolve(dir, ['--request-type', 'arg_type', '--endpoint-type', 'sagemaker'], {
      REQUEST_TYPE: 'env_type',
    });
    expect(doc).toMatchObject({ requestType: 'arg_type', source: 'argument', region: { name: 'arg-type-region' } });
  });

  it('REQUEST_TYPE beats the config and the endpoint type', async () => {
    const dir = await precedenceTree();
    const doc = await resolve(dir, ['--endpoint-type', 'sagemaker'], { REQUEST_TYPE: 'env_type' });
    expect(doc).toMatchObject({
      requestType: 'env_type',
      source: 'env',
      region: { name: 'env-type-region' },
      image: { name: 'env-type-image' },
    });
  });

  it('config requestType beats the endpoint type', async () => {
    const dir = await precedenceTree();
    const doc = await resolve(dir, ['--endpoint-type', 'sagemaker']);
    expect(doc).toMatchObject({
      requestType: 'cfg_type',
      source: 'config',
      region: { name: 'cfg-type-region', source: 'plugins/cfg/index.mjs' },
    });
  });

  it.each([
    ['async_sagemaker', 'async_sm_endpoint', 'async-sm-endpoint-region', 'plugins/async/index.mjs'],
    ['sagemaker', 'sm_endpoint', 'sm-endpoint-region', 'plugins/sm/index.mjs'],
  ])('--endpoint-type %s infers %s when nothing else sets a type', async (endpoint, requestType, region, source) => {
    const dir = await precedenceTree();
    const doc = await resolve(dir, ['--config', 'plain.json', '--endpoint-type', endpoint]);
    expect(doc).toMatchObject({ requestType, source: 'endpoint', fallback: false, region: { name: region, source } });
  });

  it('defaults to the built-in http pair', async () => {
    const dir = await precedenceTree();
    const doc = await resolve(dir, ['--config', 'plain.json']);
    expect(doc).toStrictEqual({
      requestType: 'http',
      source: 'default',
      fallback: false,
      region: { name: 'http-region', source: 'builtin' },
      image: { name: 'http-image', source: 'builtin' },
    });
  });
});

describe('failures', () => {
  it('an unknown request type exits 1 with the UNKNOWN_REQUEST_TYPE error document', async () => {
    const dir = await tree();
    const result = await runCli(['resolve', '--json', '--cwd', dir, '--request-type', 'nope']);
    expect(result.code).toBe(1);
    const error = parseError(result);
    expect(error.code).toBe('UNKNOWN_REQUEST_TYPE');
    expect(error.message).toContain('"nope"');
  });

  it('with EXTENSION_FALLBACK_ENABLED=true an unknown type falls back to the built-in pair', async () => {
    const dir = await tree();
    const result = await runCli(['resolve', '--json', '--cwd', dir, '--request-type', 'nope'], {
      env: { EXTENSION_FALLBACK_ENABLED: 'true' },
    });
    expect(result.code).toBe(0);
    const doc = parseDoc<SelectionDocument>(result);
    expect(Object.keys(doc).sort()).toEqual(['fallback', 'fallbackReason', 'image', 'region', 'requestType', 'source']);
    expect(doc).toMatchObject({
      requestType: 'http',
      source: 'argument',
      fallback: true,
      region: { name: 'http-region', source: 'builtin' },
      image: { name: 'http-image', source: 'builtin' },
    });
    expect(doc.fallbackReason).toMatch(/^UNKNOWN_REQUEST_TYPE: .*"nope"/);
  });

  it('a fallback for an incomplete type uses both built-ins, never the half that exists', async () => {
    const dir = await tree({
      extra: {
        'plugins/half/index.mjs':
          "class R { processRegionRequest() {} }\nexport default { requestType: 'half', handlerType: 'REGION_REQUEST_HANDLER', name: 'half-region', handler: R };\n",
      },
    });
    const result = await runCli(['resolve', '--json', '--cwd', dir, '--request-type', 'half'], {
      env: { EXTENSION_FALLBACK_ENABLED: 'true' },
    });
    expect(result.code).toBe(0);
    const doc = parseDoc<SelectionDocument>(result);
    expect(doc.fallback).toBe(true);
    expect(doc.fallbackReason).toMatch(/^INCOMPLETE_REQUEST_TYPE: /);
    expect(doc.region).toEqual({ name: 'http-region', source: 'builtin' });
    expect(doc.image).toEqual({ name: 'http-image', source: 'builtin' });
  });

  it('USE_EXTENSIONS=false does not import plugins and lists only the built-ins', async () => {
    const marker =
      "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./IMPORTED', import.meta.url), 'imported');\n";
    const dir = await tree({ extra: { 'plugins/marker/index.mjs': marker + pairPlugin('marked') } });
    const markerFile = path.join(dir, 'plugins', 'marker', 'IMPORTED');

    const off = await runCli(['list', '--json', '--cwd', dir], { env: { USE_EXTENSIONS: 'false' } });
    expect(off.code).toBe(0);
    expect(existsSync(markerFile)).toBe(false);
    const doc = parseDoc<ListDocument>(off);
    expect(doc.handlers.map((h) => h.source)).toEqual(['builtin', 'builtin']);
    expect(doc.requestTypes).toStrictEqual({ http: { complete: true } });

    // Control: with plugins on, the same tree imports the marker plugin.
    const on = await runCli(['list', '--json', '--cwd', dir]);
    expect(existsSync(markerFile)).toBe(true);
    expect(Object.keys(parseDoc<ListDocument>(on).requestTypes)).toContain('marked');
  });

  it('a malformed boolean variable is CONFIG_INVALID naming the variable', async () => {
    const dir = await tree();
    const result = await runCli(['list', '--json', '--cwd', dir], { env: { USE_EXTENSIONS: 'maybe' } });
    expect(result.code).toBe(1);
    const error = parseError(result);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('USE_EXTENSIONS');
    expect(error.message).toContain('maybe');
  });
});

describe('check', () => {
  it('exits 0 on a clean tree', async () => {
    const dir = await tree();
    const result = await runCli(['check', '--json', '--cwd', dir]);
    expect(result.code).toBe(0);
    expect(parseDoc<ListDocument>(result).rejected).toEqual([]);
  });

  it('exits 1 when a plugin is rejected', async () => {
    const dir = await tree({ rejected: true });
    const result = await runCli(['check', '--json', '--cwd', dir]);
    expect(result.code).toBe(1);
    expect(parseDoc<ListDocument>(result).rejected.map((r) => r.code)).toEqual(['MANIFEST_MISSING']);
  });

  it('exits 1 when a request type is incomplete, with nothing rejected', async () => {
    const dir = await tree({
      extra: {
        'plugins/half/index.mjs':
          "class R { processRegionRequest() {} }\nexport default { requestType: 'half', handlerType: 'REGION_REQUEST_HANDLER', name: 'half-region', handler: R };\n",
      },
    });
    const result = await runCli(['check', '--json', '--cwd', dir]);
    expect(result.code).toBe(1);
    const doc = parseDoc<ListDocument>(result);
    expect(doc.rejected).toEqual([]);
    expect(doc.requestTypes['half']).toEqual({ complete: false });
  });
});

describe('strict mode', () => {
  it('list exits 0 with a rejected plugin, and 1 with --strict', async () => {
    const dir = await tree({ rejected: true });
    expect((await runCli(['list', '--json', '--cwd', dir])).code).toBe(0);
    const strict = await runCli(['list', '--json', '--strict', '--cwd', dir]);
    expect(strict.code).toBe(1);
    expect(parseDoc<ListDocument>(strict).rejected).toHaveLength(1); // still the full document
  });

  it('config strict: true makes list exit 1', async () => {
    const dir = await tree({ rejected: true, config: { strict: true } });
    expect((await runCli(['list', '--json', '--cwd', dir])).code).toBe(1);
  });

  it.each(['resolve', 'start'])('%s fails with PLUGINS_REJECTED naming the refused plugin', async (command) => {
    const dir = await tree({ rejected: true });
    expect((await runCli([command, '--json', '--cwd', dir])).code).toBe(0); // not strict: boot goes on
    const result = await runCli([command, '--json', '--strict', '--cwd', dir]);
    expect(result.code).toBe(1);
    const error = parseError(result);
    expect(error.code).toBe('PLUGINS_REJECTED');
    expect(error.message).toContain('plugins/bad/index.mjs');
  });
});

describe('start', () => {
  it('boots the repository: one handler.registered line per handler, boot.summary, selection, ready', async () => {
    const result = await runCli(['start']);
    expect(result.code, result.stderr).toBe(0);
    const lines = logLines(result.stderr);
    const registered = lines.filter((l) => l['event'] === 'handler.registered');
    expect(registered.map((l) => l['name']).sort()).toEqual([
      'async-sm-endpoint-image',
      'async-sm-endpoint-region',
      'http-image',
      'http-region',
      'sm-endpoint-image',
      'sm-endpoint-region',
    ]);
    const summary = lines.filter((l) => l['event'] === 'boot.summary');
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ handlers: 6, rejected: 0 });
    expect(typeof summary[0]?.['durationMs']).toBe('number');
    expect(lines.find((l) => l['event'] === 'selection')).toMatchObject({
      requestType: 'http',
      source: 'default',
      fallback: false,
    });
    expect(lines.find((l) => l['event'] === 'ready')).toMatchObject({
      requestType: 'http',
      region: 'http-region',
      image: 'http-image',
    });
  });

  /** A project whose only plugin requires a service the host never provides. */
  const needy = async () =>
    writeTree(await tempDir(), {
      'plugins/needy/index.mjs': pairPlugin('needy', 'needy', ", requires: ['databaseConnection']"),
    });

  it('exits 1 with DEPENDENCY_MISSING when a handler requires a service the default deps lack', async () => {
    const result = await runCli(['start', '--json', '--request-type', 'needy', '--cwd', await needy()]);
    expect(result.code).toBe(1);
    const error = parseError(result);
    expect(error.code).toBe('DEPENDENCY_MISSING');
    expect(error.message).toContain('databaseConnection');
    // The default deps name what they do provide, sagemakerRuntime among them.
    expect(error.message).toMatch(/provided: .*sagemakerRuntime/);
    expect(logLines(result.stderr).some((l) => l['event'] === 'ready')).toBe(false);
  });

  it('with EXTENSION_FALLBACK_ENABLED=1 the missing dependency falls back to the built-ins', async () => {
    const result = await runCli(['start', '--json', '--request-type', 'needy', '--cwd', await needy()], {
      env: { EXTENSION_FALLBACK_ENABLED: '1' },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const doc = parseDoc<SelectionDocument>(result);
    expect(doc).toMatchObject({ fallback: true, region: { source: 'builtin' }, image: { source: 'builtin' } });
    expect(doc.fallbackReason).toMatch(/^DEPENDENCY_MISSING: /);
    const lines = logLines(result.stderr);
    expect(lines.filter((l) => l['event'] === 'selection').at(-1)).toMatchObject({
      fallback: true,
      requestType: 'http',
    });
    expect(lines.find((l) => l['event'] === 'ready')).toMatchObject({ region: 'http-region', image: 'http-image' });
  });
});

describe('logging', () => {
  it('logs go to stderr only: with --json at debug level stdout is one document', async () => {
    const result = await runCli(['list', '--json', '--log-level', 'debug']);
    expect(result.code).toBe(0);
    expect(Object.keys(parseDoc<ListDocument>(result)).sort()).toEqual(['handlers', 'rejected', 'requestTypes']);
    const lines = logLines(result.stderr);
    expect(lines.some((l) => l['level'] === 20)).toBe(true);
    expect(result.stderr.trim().split('\n')).toHaveLength(lines.length); // every stderr line is a JSON log line
  });

  it('--log-level warn suppresses info lines', async () => {
    const result = await runCli(['start', '--log-level', 'warn']);
    expect(result.code).toBe(0);
    expect(logLines(result.stderr).filter((l) => (l['level'] as number) < 40)).toEqual([]);
  });

  it('LOG_LEVEL=debug in the environment shows debug lines (plugin.imported)', async () => {
    const quiet = await runCli(['list', '--json', '--no-cache']);
    expect(logLines(quiet.stderr).some((l) => l['event'] === 'plugin.imported')).toBe(false);
    const result = await runCli(['list', '--json', '--no-cache'], { env: { LOG_LEVEL: 'debug' } });
    const imported = logLines(result.stderr).filter((l) => l['event'] === 'plugin.imported');
    expect(imported.map((l) => l['source']).sort()).toEqual([
      'plugins/async-sm-endpoint/index.ts',
      'plugins/sm-endpoint/index.ts',
    ]);
    expect(imported.every((l) => l['level'] === 20)).toBe(true);
  });
});

describe('drop-in', () => {
  it('a new folder with a valid manifest shows up in list --json, no other file touched', async () => {
    const dir = await tempDir();
    // A copy of a plugins folder (forms that need no package import from the temp dir).
    await cp(path.join(fixture('mixed'), 'plugins'), path.join(dir, 'plugins'), {
      recursive: true,
      filter: (src) => !/[/\\](decorated|_private|\.hidden|node_modules)$/.test(src),
    });
    const snapshotFiles = async () => {
      // The manifest cache under node_modules/.cache is the tool's own state, not a user's file.
      const entries = (await readdir(dir, { recursive: true }))
        .filter((f) => !f.startsWith(path.join('plugins', 'drop-in')) && !f.startsWith('node_modules'))
        .sort();
      const files = await Promise.all(entries.map(async (f) => ({ f, s: await stat(path.join(dir, f)) })));
      // Files only: adding a folder necessarily updates its parent directory's mtime.
      return files.filter(({ s }) => s.isFile()).map(({ f, s }) => `${f} ${s.mtimeMs} ${s.size}`);
    };
    const before = parseDoc<ListDocument>(await runCli(['list', '--json', '--cwd', dir]));
    const filesBefore = await snapshotFiles();
    expect(before.rejected).toEqual([]);
    expect(before.requestTypes['drop_in']).toBeUndefined();

    await writeTree(dir, { 'plugins/drop-in/index.mjs': pairPlugin('drop_in') });

    const after = parseDoc<ListDocument>(await runCli(['list', '--json', '--cwd', dir]));
    expect(after.rejected).toEqual([]);
    expect(after.requestTypes['drop_in']).toEqual({ complete: true });
    const added = after.handlers.filter((h) => !before.handlers.some((b) => b.name === h.name));
    expect(added).toEqual([
      {
        name: 'drop-in-region',
        requestType: 'drop_in',
        handlerType: 'REGION_REQUEST_HANDLER',
        source: 'plugins/drop-in/index.mjs',
      },
      {
        name: 'drop-in-image',
        requestType: 'drop_in',
        handlerType: 'IMAGE_REQUEST_HANDLER',
        source: 'plugins/drop-in/index.mjs',
      },
    ]);
    expect(after.handlers.filter((h) => !added.includes(h))).toEqual(before.handlers);
    expect(await snapshotFiles()).toEqual(filesBefore);
  });
});

describe('--plugins and --config', () => {
  it('repeated --plugins roots are searched in the given order and replace pluginDirs; the second duplicate is refused', async () => {
    const dir = await tree({
      config: { pluginDirs: ['other'] },
      extra: {
        'first/p/index.mjs': pairPlugin('same_type'),
        'second/p/index.mjs': pairPlugin('same_type'),
        'other/o/index.mjs': pairPlugin('other_type'),
      },
    });
    for (const [kept, refused] of [
      ['first', 'second'],
      ['second', 'first'],
    ] as const) {
      const result = await runCli(['list', '--json', '--cwd', dir, '--plugins', kept, '--plugins', refused]);
      expect(result.code).toBe(0);
      const doc = parseDoc<ListDocument>(result);
      expect(doc.requestTypes['other_type']).toBeUndefined(); // --plugins replaced the config's pluginDirs
      const same = doc.handlers.filter((h) => h.requestType === 'same_type');
      expect(same.map((h) => h.source)).toEqual([`${kept}/p/index.mjs`, `${kept}/p/index.mjs`]);
      expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([
        ['DUPLICATE_SLOT', `${refused}/p/index.mjs`],
        ['DUPLICATE_SLOT', `${refused}/p/index.mjs`],
      ]);
      for (const r of doc.rejected) expect(r.message).toContain(`${kept}/p/index.mjs`);
    }
  });

  it("a handler name taken in the first root is DUPLICATE_NAME for the second root's file", async () => {
    const dir = await tree({
      extra: { 'a/p/index.mjs': pairPlugin('type_a', 'same'), 'b/p/index.mjs': pairPlugin('type_b', 'same') },
    });
    const doc = parseDoc<ListDocument>(
      await runCli(['list', '--json', '--cwd', dir, '--plugins', 'a', '--plugins', 'b']),
    );
    expect(doc.handlers.filter((h) => h.name.startsWith('same-')).map((h) => h.source)).toEqual([
      'a/p/index.mjs',
      'a/p/index.mjs',
    ]);
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([
      ['DUPLICATE_NAME', 'b/p/index.mjs'],
      ['DUPLICATE_NAME', 'b/p/index.mjs'],
    ]);
  });

  it('--config FILE is used instead of the config found by search', async () => {
    const dir = await tree({
      config: { requestType: 'http' },
      extra: { 'alt.json': JSON.stringify({ requestType: 'good' }) },
    });
    expect(parseDoc<SelectionDocument>(await runCli(['resolve', '--json', '--cwd', dir]))).toMatchObject({
      requestType: 'http',
      source: 'config',
    });
    const doc = parseDoc<SelectionDocument>(await runCli(['resolve', '--json', '--cwd', dir, '--config', 'alt.json']));
    expect(doc).toMatchObject({ requestType: 'good', source: 'config', region: { name: 'good-region' } });
  });

  it('--config missing.json is CONFIG_INVALID', async () => {
    const dir = await tree();
    const result = await runCli(['list', '--json', '--cwd', dir, '--config', 'missing.json']);
    expect(result.code).toBe(1);
    const error = parseError(result);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('missing.json');
  });

  it('an unknown config key is CONFIG_INVALID naming the file and the key', async () => {
    const dir = await tree({ config: { pluginDir: ['plugins'] } });
    const result = await runCli(['list', '--json', '--cwd', dir]);
    expect(result.code).toBe(1);
    const error = parseError(result);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('osml-extensions.config.json');
    expect(error.message).toContain('pluginDir');
  });
});

describe('usage', () => {
  it('an unknown command exits 2 with USAGE_INVALID', async () => {
    const result = await runCli(['lst']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('USAGE_INVALID');
    expect(result.stderr).toContain('"list"'); // did you mean
  });

  it('an unknown command with --json prints the error document', async () => {
    const result = await runCli(['frobnicate', '--json']);
    expect(result.code).toBe(2);
    expect(parseError(result).code).toBe('USAGE_INVALID');
  });

  it('an unknown flag exits 2', async () => {
    const result = await runCli(['list', '--bogus', '--json']);
    expect(result.code).toBe(2);
    const error = parseError(result);
    expect(error.code).toBe('USAGE_INVALID');
    expect(error.message).toContain('--bogus');
  });

  it('--help exits 0 and prints usage', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: osml-extensions <command>/);
    for (const command of ['list', 'check', 'resolve', 'start']) expect(result.stdout).toContain(`  ${command} `);
  });

  it('--version prints the package.json version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });
});

/** Run the CLI in-process, as if stdout were (or were not) a terminal, with NO_COLOR as given. */
async function inProcess(
  args: string[],
  options: { tty?: boolean; noColor?: string } = {},
): Promise<{ code: number; stdout: string }> {
  const saved = process.env['NO_COLOR'];
  if (options.noColor === undefined) delete process.env['NO_COLOR'];
  else process.env['NO_COLOR'] = options.noColor;
  let stdout = '';
  try {
    const code = await main([...args, '--log-level', 'silent'], {
      stdout: (text) => void (stdout += text),
      stdoutIsTTY: options.tty ?? false,
    });
    return { code, stdout };
  } finally {
    if (saved === undefined) delete process.env['NO_COLOR'];
    else process.env['NO_COLOR'] = saved;
  }
}
const ESC = '\u001b[';
const halfPlugin =
  "class R { processRegionRequest() {} }\nexport default { requestType: 'half', handlerType: 'REGION_REQUEST_HANDLER', name: 'half-region', handler: R };\n";

describe('for people: explain', () => {
  it('explain --json prints one document: the winner per slot, the source with the config file, the DUPLICATE_SLOT loser; exit 1 iff it failed', async () => {
    const dir = await tree({
      config: { requestType: 'good' },
      extra: { 'plugins/zz-dup/index.mjs': pairPlugin('good', 'dup') },
    });
    const result = await runCli(['explain', '--json', '--cwd', dir]);
    const doc = parseDoc<Explanation>(result);
    expect(result.code, result.stderr).toBe(doc.status === 'failed' ? 1 : 0); // whether a refused duplicate fails the selection is resolve's policy
    expect(doc).toMatchObject({ requestType: 'good', from: { source: 'config', file: 'osml-extensions.config.json' } });
    expect(doc.slots.region.winner).toMatchObject({ name: 'good-region', source: 'plugins/good/index.mjs' });
    expect(doc.slots.region.candidates.find((c) => c.status === 'duplicate-slot')).toMatchObject({
      code: 'DUPLICATE_SLOT',
      source: 'plugins/zz-dup/index.mjs',
      name: 'dup-region',
    });
  });

  it('explain in text names the config file, the winner and the loser', async () => {
    const dir = await tree({
      config: { requestType: 'good' },
      extra: { 'plugins/zz-dup/index.mjs': pairPlugin('good', 'dup') },
    });
    const result = await runCli(['explain', '--cwd', dir]);
    // The duplicate is refused (DUPLICATE_SLOT), so explain reports the winner and exits 1.
    expect(result.code).toBe(1);
    for (const text of [
      'osml-extensions.config.json',
      'good-region',
      'dup-region',
      'DUPLICATE_SLOT',
      'plugins/zz-dup/index.mjs',
    ])
      expect(result.stdout).toContain(text);
  });

  it('explain for an unknown request type still explains, with the error and did-you-mean, and exits 1', async () => {
    const dir = await tree();
    const json = await runCli(['explain', '--json', '--cwd', dir, '--request-type', 'goood']);
    expect(json.code).toBe(1);
    const doc = parseDoc<Explanation>(json);
    expect(doc).toMatchObject({ status: 'failed', error: { code: 'UNKNOWN_REQUEST_TYPE', didYouMean: 'good' } });
    expect(doc.slots.region.candidates.map((c) => c.name)).toContain('good-region');
    const text = await runCli(['explain', '--cwd', dir, '--request-type', 'goood']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('UNKNOWN_REQUEST_TYPE');
    expect(text.stdout).toContain('"good"');
  });

  it('explain with fallback exits 0 and says it fell back', async () => {
    const dir = await tree();
    const result = await runCli(['explain', '--json', '--cwd', dir, '--request-type', 'nope'], {
      env: { EXTENSION_FALLBACK_ENABLED: 'true' },
    });
    expect(result.code).toBe(0);
    expect(parseDoc<Explanation>(result)).toMatchObject({
      status: 'fallback',
      error: { code: 'UNKNOWN_REQUEST_TYPE' },
      selection: { fallback: true, region: { source: 'builtin' } },
    });
  });

  it('explain surfaces a `disabled` name that matches no handler, with did-you-mean', async () => {
    const dir = await tree({ config: { disabled: ['good-regoin'] } });
    const { code, stdout } = await inProcess(['explain', '--cwd', dir]);
    expect(code).toBe(0);
    expect(stdout).toContain('good-regoin');
    expect(stdout).toContain('"good-region"');
  });
});

describe('for people: terminal output', () => {
  it('list on a terminal: a table with a bold header, the refused code in red and an incomplete type in yellow', async () => {
    const dir = await tree({ rejected: true, extra: { 'plugins/half/index.mjs': halfPlugin } });
    const { code, stdout } = await inProcess(['list', '--cwd', dir], { tty: true });
    expect(code).toBe(0);
    expect(stdout).toContain(`${ESC}1mREQUEST TYPE`);
    expect(stdout).toContain(`${ESC}31mMANIFEST_MISSING${ESC}39m`);
    expect(stdout).toMatch(new RegExp(`\\u001b\\[33mhalf \\(incomplete\\)`));
    expect(stdout).toContain('(missing)');
  });

  it.each([
    ['set', '1'],
    ['set but empty', ''],
  ])('list on a terminal with NO_COLOR %s: the table without any colour', async (_label, noColor) => {
    const dir = await tree({ rejected: true });
    const { stdout } = await inProcess(['list', '--cwd', dir], { tty: true, noColor });
    expect(stdout).not.toContain(ESC);
    expect(stdout).toMatch(/^REQUEST TYPE +SLOT +NAME/);
    expect(stdout).toContain('MANIFEST_MISSING');
  });

  it('list when stdout is not a terminal: the plain aligned text, no colour; --json still one document', async () => {
    const dir = await tree({ rejected: true });
    const plain = await inProcess(['list', '--cwd', dir]);
    expect(plain.stdout).not.toContain(ESC);
    expect(plain.stdout).toMatch(/^NAME +REQUEST TYPE +HANDLER TYPE +SOURCE\n/);
    const json = await inProcess(['list', '--json', '--cwd', dir], { tty: true });
    expect(json.stdout).not.toContain(ESC);
    expect(Object.keys(JSON.parse(json.stdout) as object).sort()).toEqual(['handlers', 'rejected', 'requestTypes']);
  });

  it('explain on a terminal is coloured, and not with NO_COLOR', async () => {
    const dir = await tree();
    expect((await inProcess(['explain', '--cwd', dir], { tty: true })).stdout).toContain(ESC);
    expect((await inProcess(['explain', '--cwd', dir], { tty: true, noColor: '1' })).stdout).not.toContain(ESC);
  });
});

describe('for people: help, version and usage errors', () => {
  it('--help works on every command and shows an example of it', async () => {
    expect(COMMANDS.map((c) => c.name)).toEqual(
      expect.arrayContaining(['list', 'check', 'resolve', 'explain', 'start']),
    );
    for (const command of COMMANDS) {
      for (const flag of ['--help', '-h']) {
        const { code, stdout } = await inProcess([command.name, flag]);
        expect(code, command.name).toBe(0);
        expect(stdout).toMatch(new RegExp(`^Usage: osml-extensions ${command.name}`));
        expect(stdout).toContain('Examples:');
        expect(stdout).toContain(`osml-extensions ${command.name}`);
      }
    }
    expect((await inProcess(['start', '--help'])).stdout).toContain('--watch');
  });

  it('-v prints the version, like --version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await inProcess(['-v'])).toEqual({ code: 0, stdout: `${version}\n` });
  });

  it.each([
    [['explian'], 'explain'],
    [['strt'], 'start'],
  ])('a mistyped command %j exits 2 with did-you-mean %s', async (args, hint) => {
    const { code, stdout } = await inProcess([...args, '--json']);
    expect(code).toBe(2);
    const error = (JSON.parse(stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('USAGE_INVALID');
    expect(error.message).toContain(`"${hint}"`);
  });

  it.each([
    [['explain', '--bogus'], '--bogus'],
    [['list', '--request-type', 'x'], '--request-type'],
    [['start', '--max-reloads', '3'], '--max-reloads'],
    [['start', '--watch', '--max-reloads', 'many'], '--max-reloads'],
  ])('%j exits 2 with USAGE_INVALID naming %s', async (args, flag) => {
    const { code, stdout } = await inProcess([...args, '--json']);
    expect(code).toBe(2);
    const error = (JSON.parse(stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('USAGE_INVALID');
    expect(error.message).toContain(flag);
  });
});

describe('for people: start --watch', () => {
  it('start --watch logs ready, reloads when a plugin folder is added, and exits 0 on SIGTERM', async () => {
    const dir = await tree();
    const env: Record<string, string | undefined> = {
      ...process.env,
      REQUEST_TYPE: undefined,
      USE_EXTENSIONS: undefined,
      EXTENSION_FALLBACK_ENABLED: undefined,
      LOG_LEVEL: undefined,
    };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, [BIN, 'start', '--watch', '--json', '--cwd', dir, '--request-type', 'good'], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const logged = (event: string, ms = 10_000) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const check = () => {
          const line = logLines(stderr).find((l) => l['event'] === event);
          if (line === undefined) return;
          clearTimeout(timer);
          child.stderr.off('data', check);
          resolve(line);
        };
        const timer = setTimeout(
          () => reject(new Error(`no "${event}" log line within ${ms} ms; stderr:\n${stderr}`)),
          ms,
        );
        child.stderr.on('data', check);
        check();
      });
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    try {
      expect(await logged('ready')).toMatchObject({ requestType: 'good', region: 'good-region' });
      await writeTree(dir, { 'plugins/later/index.mjs': pairPlugin('later') });
      expect(await logged('reload')).toMatchObject({
        generation: 1,
        added: ['later-region', 'later-image'],
        removed: [],
      });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(logLines(stderr).some((l) => l['event'] === 'stopped')).toBe(true);
      expect(JSON.parse(stdout)).toMatchObject({ requestType: 'good', region: { name: 'good-region' } });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('what the logs never carry', () => {
  it('no plugin source, no deps, no env values but the selection', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'package.json': '{}',
      'plugins/leaky/index.mjs':
        "const password = 'SOURCE-SECRET-123';\nexport default {\n  requestType: 'leaky'\n  handler: 1,\n};",
      'plugins/ok/index.mjs': pairPlugin('ok_type'),
    });
    const run = await runCli(['start', '--log-level', 'trace', '--no-cache'], {
      cwd: dir,
      env: { API_TOKEN: 'ENV-SECRET-456', REQUEST_TYPE: 'ok_type' },
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('IMPORT_FAILED');
    expect(run.stderr).toContain('ok_type');
    expect(run.stderr).not.toContain('SOURCE-SECRET-123');
    expect(run.stderr).not.toContain('ENV-SECRET-456');
    expect(run.stderr).not.toContain('modelInvoker');
  });
});

describe('stdout belongs to the result', () => {
  it('a plugin that console.logs at import does not break --json', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'package.json': '{}',
      'plugins/chatty/index.mjs': `console.log('debug: chatty loaded');\nprocess.stdout.write('more noise\\n');\n${pairPlugin('chatty')}`,
    });
    const run = await runCli(['list', '--json', '--no-cache', '--log-level', 'silent'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty('handlers');
    expect(run.stderr).toContain('debug: chatty loaded');
  });
});

describe('explain when no pair is chosen', () => {
  it('shows the slot holders as holding, not winning', async () => {
    const run = await runCli([
      'explain',
      '--request-type',
      'shared',
      '--cwd',
      fixture('error-duplicate-slot'),
      '--log-level',
      'silent',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[holds]');
    expect(run.stdout).not.toContain('[winner]');
    expect(run.stdout).toContain('SELECTED_PLUGIN_REFUSED');
  });
});
