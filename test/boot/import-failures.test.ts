/**
 * What a plugin author reads when an import fails: the line of an ES module's syntax error, and
 * "install the package" (not "fix that file") when an imported package is missing; a request type
 * nobody serves names the plugins that could not say what they serve.
 */
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExtensions } from '../../src/host/extensions.js';
import { isExtensionError } from '../../src/shared/errors.js';
import { recordingLogger, ROOT, tempDir, writeTree } from '../helpers/index.js';

/** A temp project holding `files`, with this package installed as a user's project would have it. */
async function boot(files: Record<string, string>) {
  const cwd = await writeTree(await tempDir(), files);
  await mkdir(path.join(cwd, 'node_modules'), { recursive: true });
  await symlink(ROOT, path.join(cwd, 'node_modules', 'osml-extensions'));
  return loadExtensions({ cwd, config: undefined, overrides: { cache: false } });
}

describe('import failures, as a plugin author reads them', () => {
  it('gives the file and line of a syntax error in an .mjs entry', async () => {
    const ext = await boot({ 'plugins/s/index.mjs': 'export const a = 1;\n\nexport default {\n  x: ,\n};\n' });
    expect(ext.rejected[0]?.code).toBe('IMPORT_FAILED');
    expect(ext.rejected[0]?.message).toContain('plugins/s/index.mjs:4');
  });

  it('says to install a missing package, naming it, instead of "fix that file"', async () => {
    const ext = await boot({ 'plugins/p/index.mjs': "import pad from '@nope/left-pad/sub';\nexport default pad;\n" });
    const message = ext.rejected[0]?.message ?? '';
    expect(message).toContain('npm install @nope/left-pad');
    expect(message).not.toContain('Fix that file');
  });

  it('still says "fix that file" for a missing relative import', async () => {
    const ext = await boot({ 'plugins/q/index.mjs': "import x from './nope.mjs';\nexport default x;\n" });
    expect(ext.rejected[0]?.message).toContain('Fix that file');
  });

  it('names the plugins that failed to import when the request type in force is unknown', async () => {
    const ext = await boot({ 'plugins/p/index.mjs': "import pad from 'nope-pad';\nexport default pad;\n" });
    let error: unknown;
    try {
      ext.resolve({ requestType: 'padding' });
    } catch (thrown) {
      error = thrown;
    }
    expect(isExtensionError(error, 'UNKNOWN_REQUEST_TYPE')).toBe(true);
    expect((error as Error).message).toContain('plugins/p/index.mjs (IMPORT_FAILED)');
  });
});

describe('plugin.slow', () => {
  const slow = (ms: number) => `await new Promise((r) => setTimeout(r, ${ms}));\nexport default [];\n`;

  it('says how many imports overlapped a slow one, so a batch is not blamed on each plugin', async () => {
    const cwd = await writeTree(await tempDir(), {
      'osml-extensions.config.json': '{"slowPluginMs": 100}',
      'plugins/a/index.mjs': slow(250),
      'plugins/b/index.mjs': slow(250),
    });
    const logger = recordingLogger();
    await loadExtensions({ cwd, logger, overrides: { cache: false } });
    const lines = logger.lines.filter((l) => l.obj['event'] === 'plugin.slow');
    expect(lines.map((l) => [l.obj['source'], l.obj['overlapping']])).toEqual([
      ['plugins/a/index.mjs', 1],
      ['plugins/b/index.mjs', 1],
    ]);
    expect(lines[0]?.msg).toContain('1 other imports ran at the same time');
  });

  it('reports no overlap for a plugin imported alone', async () => {
    const cwd = await writeTree(await tempDir(), {
      'osml-extensions.config.json': '{"slowPluginMs": 100}',
      'plugins/a/index.mjs': slow(250),
    });
    const logger = recordingLogger();
    await loadExtensions({ cwd, logger, overrides: { cache: false } });
    expect(logger.lines.find((l) => l.obj['event'] === 'plugin.slow')?.obj['overlapping']).toBe(0);
  });
});

describe('MANIFEST_MISSING', () => {
  it.each(['@registerHandler(', '@registerHandler (\n  '])(
    'says to export a class that is decorated with registerHandler but not exported (%j)',
    async (call) => {
      const ext = await boot({
        'plugins/d/index.ts': [
          "import { HandlerType, RegionRequestHandler, registerHandler } from 'osml-extensions';",
          `${call}{ requestType: 'd_type', handlerType: HandlerType.REGION_REQUEST_HANDLER, name: 'd-region' })`,
          'class Hidden extends RegionRequestHandler {}',
          'export const unrelated = 1;',
          'void Hidden;',
          '',
        ].join('\n'),
      });
      const refusal = ext.rejected.find((r) => r.source === 'plugins/d/index.ts');
      expect(refusal?.code).toBe('MANIFEST_MISSING');
      expect(refusal?.message).toContain('Export the decorated class');
    },
  );
});
