/**
 * `init`: the scaffold validates before writing, never overwrites, and writes a plugin that passes
 * `check`, the type checker and its own test as it is, in a project that uses the package by name.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { ListDocument } from '../../src/cli/output.js';
import { className, scaffoldPlugin } from '../../src/authoring/scaffold.js';
import { consumerPackageJson, linkModules, runVitest } from '../helpers/consumer.js';
import { codeOf, runCli, tempDir, writeTree } from '../helpers/index.js';

describe('scaffoldPlugin', () => {
  it('writes index.ts, README.md and <name>.test.ts under <dir>/<name>, returning paths relative to cwd', async () => {
    const cwd = await tempDir();
    const created = await scaffoldPlugin({ name: 'edge-detect', requestType: 'edge_detect', cwd });
    expect(created).toEqual([
      'plugins/edge-detect/index.ts',
      'plugins/edge-detect/README.md',
      'plugins/edge-detect/edge-detect.test.ts',
    ]);
    expect((await readdir(path.join(cwd, 'plugins', 'edge-detect'))).sort()).toEqual([
      'README.md',
      'edge-detect.test.ts',
      'index.ts',
    ]);
    const index = await readFile(path.join(cwd, created[0]!), 'utf8');
    expect(index).toContain("name: 'edge-detect-region'");
    expect(index).toContain("name: 'edge-detect-image'");
    expect(index).toMatch(
      /@registerHandler\(\{\s+requestType: 'edge_detect',\s+handlerType: HandlerType\.REGION_REQUEST_HANDLER/,
    );
    expect(index).toContain('extends RegionRequestHandler');
    expect(index).toContain('extends ImageRequestHandler');
    expect(index).toContain("from 'osml-extensions'");
    expect(await readFile(path.join(cwd, created[2]!), 'utf8')).toContain("from 'osml-extensions/testing'");
  });

  it('honours dir, relative to cwd', async () => {
    const cwd = await tempDir();
    expect(await scaffoldPlugin({ name: 'x1', requestType: 'x1', dir: 'ext/more', cwd })).toContain(
      'ext/more/x1/index.ts',
    );
  });

  it.each([
    ['upper case', 'Edge'],
    ['a leading "_" (the host would skip it)', '_edge'],
    ['a leading "."', '.edge'],
    ['a path', 'a/b'],
    ['a parent path', '../edge'],
    ['node_modules', 'node_modules'],
    ['a name whose handler names would be too long', 'a'.repeat(122)],
    ['an empty name', ''],
  ])('refuses %s with USAGE_INVALID and writes nothing', async (_what, name) => {
    const cwd = await tempDir();
    expect(await codeOf(() => scaffoldPlugin({ name, requestType: 'edge', cwd }))).toBe('USAGE_INVALID');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('accepts the longest name whose handler names still fit', async () => {
    const cwd = await tempDir();
    await expect(scaffoldPlugin({ name: 'a'.repeat(121), requestType: 'edge', cwd })).resolves.toHaveLength(3);
  });

  it.each(['Edge', 'edge-type', '1edge', ''])(
    'refuses the request type %j with USAGE_INVALID and writes nothing',
    async (requestType) => {
      const cwd = await tempDir();
      expect(await codeOf(() => scaffoldPlugin({ name: 'edge', requestType, cwd }))).toBe('USAGE_INVALID');
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it('refuses an existing folder with TARGET_EXISTS and leaves it untouched', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/edge/index.ts': '// mine\n' });
    expect(await codeOf(() => scaffoldPlugin({ name: 'edge', requestType: 'edge', cwd }))).toBe('TARGET_EXISTS');
    expect(await readdir(path.join(cwd, 'plugins', 'edge'))).toEqual(['index.ts']);
    expect(await readFile(path.join(cwd, 'plugins', 'edge', 'index.ts'), 'utf8')).toBe('// mine\n');
  });

  it('refuses a file in the way with TARGET_EXISTS', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/edge': 'a file' });
    expect(await codeOf(() => scaffoldPlugin({ name: 'edge', requestType: 'edge', cwd }))).toBe('TARGET_EXISTS');
  });
});

describe('className', () => {
  it.each([
    ['custom-processing', 'CustomProcessing'],
    ['a.b_c-d', 'ABCD'],
    ['3d-model', 'Plugin3dModel'],
    ['x', 'X'],
  ])('%s → %s', (name, expected) => {
    expect(className(name)).toBe(expected);
  });
});

describe('osml-extensions init (CLI)', () => {
  it('--json prints exactly {"created":[relative paths]}', async () => {
    const dir = await tempDir();
    const result = await runCli(['init', 'edge', '--request-type', 'edge_type', '--json', '--cwd', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toStrictEqual({
      created: ['plugins/edge/index.ts', 'plugins/edge/README.md', 'plugins/edge/edge.test.ts'],
    });
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('prints the files written and the next steps, with --dir', async () => {
    const dir = await tempDir();
    const result = await runCli(['init', 'edge', '--request-type', 'edge_type', '--dir', 'extensions', '--cwd', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('extensions/edge/index.ts');
    expect(result.stdout).toContain('extensions/edge/edge.test.ts');
    expect(result.stdout).toContain('osml-extensions check --plugins extensions');
    expect(existsSync(path.join(dir, 'extensions', 'edge', 'index.ts'))).toBe(true);
  });

  it("writes into the first plugin root in force: the config's pluginDirs, then --plugins; --dir still wins", async () => {
    const dir = await writeTree(await tempDir(), {
      'osml-extensions.config.json': '{"pluginDirs": ["extensions", "more"]}',
    });
    const fromConfig = await runCli(['init', 'a', '--request-type', 'a_type', '--json', '--cwd', dir]);
    expect(JSON.parse(fromConfig.stdout)).toMatchObject({ created: expect.arrayContaining(['extensions/a/index.ts']) });
    const fromFlag = await runCli([
      'init',
      'b',
      '--request-type',
      'b_type',
      '--plugins',
      'flagged',
      '--json',
      '--cwd',
      dir,
    ]);
    expect(JSON.parse(fromFlag.stdout)).toMatchObject({ created: expect.arrayContaining(['flagged/b/index.ts']) });
    const fromDir = await runCli([
      'init',
      'c',
      '--request-type',
      'c_type',
      '--dir',
      'elsewhere',
      '--json',
      '--cwd',
      dir,
    ]);
    expect(JSON.parse(fromDir.stdout)).toMatchObject({ created: expect.arrayContaining(['elsewhere/c/index.ts']) });
    // A plain `check` finds what init wrote, because it is where the loader looks (importing it needs
    // the package installed, which this temp project has not: the later test covers that).
    const check = await runCli(['check', '--json', '--cwd', dir]);
    expect(check.stdout).toContain('extensions/a/index.ts');
  });

  it.each([
    ['an invalid name', ['init', 'Edge', '--request-type', 'edge']],
    ['an invalid request type', ['init', 'edge', '--request-type', 'Edge-Type']],
    ['no request type', ['init', 'edge']],
    ['no name', ['init', '--request-type', 'edge']],
    ['two names', ['init', 'a', 'b', '--request-type', 'edge']],
  ])('exits 2 with USAGE_INVALID for %s, writing nothing', async (_what, args) => {
    const dir = await tempDir();
    const result = await runCli([...args, '--json', '--cwd', dir]);
    expect(result.code).toBe(2);
    expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe('USAGE_INVALID');
    expect(await readdir(dir)).toEqual([]);
  });

  it('exits 1 with TARGET_EXISTS for an existing folder', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/edge/keep.txt': 'mine' });
    const result = await runCli(['init', 'edge', '--request-type', 'edge', '--json', '--cwd', dir]);
    expect(result.code).toBe(1);
    const error = (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('TARGET_EXISTS');
    expect(error.message).toContain('plugins/edge');
  });
});

// Each test spawns the CLI, the type checker or a nested vitest: give them room on a busy 2-core CI machine.
describe('a scaffolded plugin, in a project that uses the package by name', { timeout: 60_000 }, () => {
  /** A consumer project with osml-extensions (this repo) and vitest linked in, and a fresh plugin. */
  async function scaffolded(): Promise<string> {
    const dir = await tempDir();
    await consumerPackageJson(dir);
    await linkModules(dir, 'all', { self: true });
    const result = await runCli(['init', 'edge-detect', '--request-type', 'edge_detect', '--cwd', dir]);
    expect(result.code, result.stderr).toBe(0);
    return dir;
  }

  it('passes `check --json` at once: both slots filled from index.ts, nothing refused', async () => {
    const dir = await scaffolded();
    const result = await runCli(['check', '--json', '--cwd', dir]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as ListDocument;
    expect(doc.rejected).toEqual([]);
    expect(doc.requestTypes['edge_detect']).toEqual({ complete: true });
    const ours = doc.handlers
      .filter((h) => h.requestType === 'edge_detect')
      .map((h) => [h.name, h.handlerType, h.source]);
    expect(ours.sort()).toEqual([
      ['edge-detect-image', 'IMAGE_REQUEST_HANDLER', 'plugins/edge-detect/index.ts'],
      ['edge-detect-region', 'REGION_REQUEST_HANDLER', 'plugins/edge-detect/index.ts'],
    ]);
  });

  it('type-checks under the strictest settings this repo uses', async () => {
    const dir = await scaffolded();
    const folder = path.join(dir, 'plugins', 'edge-detect');
    const program = ts.createProgram([path.join(folder, 'index.ts'), path.join(folder, 'edge-detect.test.ts')], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      noImplicitOverride: true,
      noImplicitReturns: true,
      noPropertyAccessFromIndexSignature: true,
      exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      skipLibCheck: true,
      noEmit: true,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });

  it("passes its own test (vitest's defaults, run from the project)", async () => {
    const dir = await scaffolded();
    const result = await runVitest(dir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Tests\s+.*2 passed/);
  });

  it('its own test fails when the plugin loses a handler', async () => {
    const dir = await scaffolded();
    const index = path.join(dir, 'plugins', 'edge-detect', 'index.ts');
    const source = await readFile(index, 'utf8');
    await writeTree(dir, {
      'plugins/edge-detect/index.ts': source.replace(
        /\n@registerHandler\(\{[^@]*?IMAGE_REQUEST_HANDLER[^@]*?\}\)\n/,
        '\n',
      ),
    });
    expect(await readFile(index, 'utf8')).not.toContain('IMAGE_REQUEST_HANDLER');
    const result = await runVitest(dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Tests\s+.*2 failed/);
    // The failure names the empty slot (expectCompletePair's INCOMPLETE_REQUEST_TYPE).
    expect(result.stdout + result.stderr).toContain('IMAGE_REQUEST_HANDLER');
  });
});
