/**
 * When no config file is found, the boot says where it looked and what it used, and points at a
 * file that looks like a misnamed config (first-hour trip-ups: a plugin folder's own package.json
 * ends the search; `osml-extensions.json` is not a config name).
 */
import { describe, expect, it } from 'vitest';
import { loadExtensions } from '../../src/host/extensions.js';
import { recordingLogger, tempDir, writeTree } from '../helpers/index.js';

describe('boot without a config file', () => {
  it('logs config.none and says in the missing-root message that no config was found and where the search stopped', async () => {
    const dir = await writeTree(await tempDir(), {
      'osml-extensions.config.json': '{"pluginDirs": ["extensions"]}',
      'extensions/x/package.json': '{}',
    });
    const logger = recordingLogger();
    const ext = await loadExtensions({ cwd: `${dir}/extensions/x`, logger });
    expect(logger.lines.find((l) => l.obj['event'] === 'config.none')?.obj).toMatchObject({ stoppedAt: '.' });
    const missing = ext.rejected.find((r) => r.code === 'ROOT_INVALID');
    expect(missing?.message).toContain('no config file was found');
    expect(missing?.message).toContain('package.json ends the search');
  });

  it('warns with a did-you-mean when a misnamed config file sits in the directory', async () => {
    const dir = await writeTree(await tempDir(), { 'osml-extensions.json': '{"pluginDirs": ["extensions"]}' });
    const logger = recordingLogger();
    const ext = await loadExtensions({ cwd: dir, logger });
    const warning = logger.lines.find((l) => l.obj['event'] === 'config.near-miss');
    expect(warning?.level).toBe('warn');
    expect(warning?.obj).toMatchObject({ file: 'osml-extensions.json', didYouMean: 'osml-extensions.config.json' });
    expect(ext.rejected.find((r) => r.code === 'ROOT_INVALID')?.message).toContain(
      'osml-extensions.json looks like a misnamed',
    );
  });

  it('says nothing of the kind when a config file is found', async () => {
    const dir = await writeTree(await tempDir(), { 'osml-extensions.config.json': '{}', 'plugins/.keep': '' });
    const logger = recordingLogger();
    await loadExtensions({ cwd: dir, logger });
    expect(logger.lines.filter((l) => String(l.obj['event']).startsWith('config.'))).toEqual([]);
  });
});
