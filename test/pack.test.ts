/**
 * The published package, as a real consumer gets it: `npm pack`, then `npm install <tarball>` into
 * a fresh project, then the installed bin and both entry points (`osml-extensions`,
 * `osml-extensions/testing`) from there. Proves the `files`, `exports` and `bin` fields.
 *
 * The install is a real one: the tarball's dependencies come from the npm registry, through npm's
 * cache first (`--prefer-offline`; `npm ci` has filled it), so it also works on a fresh CI
 * machine. About 5 s here. Only vitest, which the package does not depend on, is linked in from
 * this repo to run the scaffolded plugin's own test.
 */
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListDocument } from '../src/cli/output.js';
import { consumerPackageJson, linkModules, run, runVitest } from './helpers/consumer.js';
import { ROOT, writeTree } from './helpers/index.js';

interface PackInfo {
  filename: string;
  files: { path: string }[];
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/**
 * The environment without what `npm test` / `npx` put there: `npm_config_local_prefix` and the
 * like would point a nested npm at this repo instead of the temp project. Also without the
 * variables the CLI reads.
 */
const env = (): NodeJS.ProcessEnv => {
  const copy: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(copy)) if (/^npm_/i.test(key)) delete copy[key];
  for (const key of ['REQUEST_TYPE', 'USE_EXTENSIONS', 'EXTENSION_FALLBACK_ENABLED', 'LOG_LEVEL']) delete copy[key];
  return copy;
};

let info: PackInfo;
let project: string;

let dir: string;

beforeAll(async () => {
  // Shared by every test here, so not tempDir() (removed after each test); same prefix, see vitest.config.ts.
  dir = await mkdtemp(path.join(await realpath(os.tmpdir()), 'osml-ext-'));
  // --ignore-scripts: `pretest` already built dist/; `prepare` would rebuild it under the other test files.
  const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    env: env(),
  });
  expect(packed.code, packed.stderr).toBe(0);
  info = (JSON.parse(packed.stdout) as PackInfo[])[0]!;

  project = path.join(dir, 'project');
  await writeTree(project, {
    // A JavaScript plugin that imports the package by name, as a user's would.
    'plugins/by-name/index.mjs': `import { HandlerType, ImageRequestHandler, RegionRequestHandler, registerHandler } from 'osml-extensions';
export const Region = registerHandler({ requestType: 'by_name', handlerType: HandlerType.REGION_REQUEST_HANDLER, name: 'by-name-region' })(class extends RegionRequestHandler {});
export const Image = registerHandler({ requestType: 'by_name', handlerType: HandlerType.IMAGE_REQUEST_HANDLER, name: 'by-name-image' })(class extends ImageRequestHandler {});
`,
  });
  await consumerPackageJson(project);
  const installed = await run(
    npm,
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', path.join(dir, info.filename)],
    { cwd: project, env: env() },
  );
  expect(installed.code, installed.stderr).toBe(0);
  await linkModules(project, ['vitest']);
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const bin = (args: string[]) =>
  run(path.join(project, 'node_modules', '.bin', 'osml-extensions'), args, { cwd: project, env: env() });

describe('npm pack', () => {
  it('ships dist (both entry points, their types and the bin), the schema and the README; no sources or tests', () => {
    const files = info.files.map((f) => f.path);
    for (const file of [
      'package.json',
      'README.md',
      'schema/osml-extensions.config.schema.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing.js',
      'dist/testing.d.ts',
      'dist/bin.js',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.filter((f) => /^(src|test|plugins|bench)\//.test(f))).toEqual([]);
    // The README links docs/; source maps would point at ../src, which is not shipped.
    expect(files).toContain('docs/runner.md');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('builds when packed, never when installed: no prepare, install or postinstall script', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(
      Object.keys(pkg.scripts).filter((s) => ['prepare', 'preinstall', 'install', 'postinstall'].includes(s)),
    ).toEqual([]);
    expect(pkg.scripts['prepack']).toContain('build');
  });
});

describe('the installed package', { timeout: 60_000 }, () => {
  it('is a real copy, not a link to this repo', async () => {
    const pkg = JSON.parse(
      await readFile(path.join(project, 'node_modules', 'osml-extensions', 'package.json'), 'utf8'),
    ) as { name: string };
    expect(pkg.name).toBe('osml-extensions');
    const real = await run(
      process.execPath,
      ['-e', 'console.log(require("fs").realpathSync("node_modules/osml-extensions"))'],
      { cwd: project },
    );
    expect(real.stdout.trim().startsWith(ROOT + path.sep)).toBe(false);
  });

  it('its bin lists a plugin that imports `osml-extensions` by name', async () => {
    const result = await bin(['list', '--json']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as ListDocument;
    expect(doc.rejected).toEqual([]);
    expect(doc.handlers.filter((h) => h.requestType === 'by_name').map((h) => h.source)).toEqual([
      'plugins/by-name/index.mjs',
      'plugins/by-name/index.mjs',
    ]);
    expect(doc.requestTypes['by_name']).toEqual({ complete: true });
  });

  it('both entry points import by name', async () => {
    const script =
      "const m = await import('osml-extensions'); const t = await import('osml-extensions/testing'); console.log(typeof m.loadExtensions, typeof m.jsonSchema, typeof t.loadPluginFolder, typeof t.buildHandlers);";
    const result = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('function function function function');
  });

  it('init writes a TypeScript plugin that passes `check` and its own test', async () => {
    const created = await bin(['init', 'from-tarball', '--request-type', 'from_tarball', '--json']);
    expect(created.code, created.stdout + created.stderr).toBe(0);
    const check = await bin(['check', '--json']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect((JSON.parse(check.stdout) as ListDocument).requestTypes['from_tarball']).toEqual({ complete: true });
    const tested = await runVitest(project);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/Tests\s+.*2 passed/);
  });
});
