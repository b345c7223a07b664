/**
 * The CLI always ends with its document or its error: a plugin calling process.exit() at import is
 * refused (never an early exit 0), and a stray rejection from plugin code is reported, not fatal.
 */
import { describe, expect, it } from 'vitest';
import { pairPlugin, runCli, tempDir, writeTree } from '../helpers/index.js';

describe('plugins that try to end the process', () => {
  it('process.exit(0) at import is refused with IMPORT_FAILED; check prints its document and fails', async () => {
    const cwd = await writeTree(await tempDir(), {
      'plugins/good/index.mjs': pairPlugin('good'),
      'plugins/quitter/index.mjs': 'process.exit(0);\n',
    });
    const result = await runCli(['check', '--json', '--strict'], { cwd });
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout) as { rejected: { source: string; code: string }[] };
    expect(doc.rejected).toEqual([
      expect.objectContaining({ source: 'plugins/quitter/index.mjs', code: 'IMPORT_FAILED' }),
    ]);
    const strict = await runCli(['resolve', '--json', '--strict', '--request-type', 'good'], { cwd });
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({ error: { code: 'PLUGINS_REJECTED' } });
  });

  it('an unhandled rejection from plugin code is reported on stderr, the document is still printed, and the exit is 1', async () => {
    const cwd = await writeTree(await tempDir(), {
      'plugins/good/index.mjs': pairPlugin('good'),
      'plugins/leaky/index.mjs': `Promise.reject(new Error('leaked at import'));\nawait new Promise((r) => setTimeout(r, 50));\n${pairPlugin('leaky')}`,
    });
    const result = await runCli(['list', '--json'], { cwd });
    expect(JSON.parse(result.stdout)).toHaveProperty('handlers');
    expect(result.stderr).toContain('leaked at import');
    expect(result.code).toBe(1);
  });
});
