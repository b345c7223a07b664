/**
 * Every folder in a plugin root is a plugin, skipped by a documented rule, or refused: names that
 * hide in a listing (line and paragraph separators, C1 controls) are refused with BAD_FILENAME.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover } from '../../src/boot/discover.js';
import { tempDir } from '../helpers/index.js';

describe('folder names that hide', () => {
  it.each([
    ['a line feed', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['a line separator (U+2028)', 'a\u2028b'],
    ['a paragraph separator (U+2029)', 'a\u2029b'],
    ['a C1 control (U+0085)', 'a\u0085b'],
    ['a C1 CSI (U+009B)', 'a\u009bb'],
  ])('a folder whose name holds %s is refused, not loaded and not silently skipped', async (_what, name) => {
    const cwd = await tempDir();
    for (const folder of [name, 'ok']) {
      await mkdir(path.join(cwd, 'plugins', folder), { recursive: true });
      await writeFile(path.join(cwd, 'plugins', folder, 'index.mjs'), 'export default [];\n');
    }
    const found = await discover({ roots: [path.join(cwd, 'plugins')], cwd });
    expect(found.plugins.map((p) => p.name)).toEqual(['ok']);
    expect(found.rejected.map((r) => r.code)).toEqual(['BAD_FILENAME']);
  });
});
