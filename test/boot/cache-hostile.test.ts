/**
 * The manifest cache is never trusted beyond its shape: a file with a valid checksum but a
 * malformed entry (null, `files: "x"`, `manifests: null`, a handler name the manifest schema
 * refuses) is discarded and rebuilt, and the temp file of a save is never a planted symlink.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExtensions } from '../../src/host/extensions.js';
import { pairPlugin, tempDir, writeTree } from '../helpers/index.js';

const CACHE = 'node_modules/.cache/osml-extensions/manifests.json';

/** Rewrite the real cache's one entry with `patch` (null: the entry itself), keeping the header and a right checksum. */
async function forgeCache(dir: string, patch: Record<string, unknown> | null): Promise<void> {
  const file = path.join(dir, CACHE);
  const [header, old] = (await readFile(file, 'utf8')).split('\n');
  const [key, entry] = (JSON.parse(old!) as [string, Record<string, unknown>][])[0]!;
  const body = JSON.stringify([[key, patch === null ? null : { ...entry, ...patch }]]);
  const sha256 = createHash('sha256').update(body).digest('base64');
  await writeFile(file, `${JSON.stringify({ ...JSON.parse(header!), sha256 })}\n${body}`);
}

async function project(): Promise<string> {
  const dir = await writeTree(await tempDir(), {
    'osml-extensions.config.json': '{}',
    'plugins/good/index.mjs': pairPlugin('good'),
  });
  await loadExtensions({ cwd: dir }); // writes the cache
  return dir;
}

describe('a manifest cache with a valid checksum but a malformed entry', () => {
  const handler = (patch: object) => ({
    name: 'good-region',
    requestType: 'good',
    handlerType: 'REGION_REQUEST_HANDLER',
    ...patch,
  });
  it.each([
    ['a null entry', null],
    ['files as a string', { files: 'x' }],
    ['manifests as null', { manifests: null }],
    [
      'a handler name the schema refuses',
      {
        manifests: [
          handler({ name: 'Bad Name' }),
          handler({ name: 'good-image', handlerType: 'IMAGE_REQUEST_HANDLER' }),
        ],
      },
    ],
    ['an unknown handler type', { manifests: [handler({ handlerType: 'NOPE' })] }],
    [
      'a rejected code that is never cached',
      { manifests: [], rejected: [{ code: 'IMPORT_FAILED', params: {}, requestTypes: [] }] },
    ],
  ])('%s: the boot works, imports the plugin, and rewrites the cache', async (_what, patch) => {
    const dir = await project();
    await forgeCache(dir, patch);
    const ext = await loadExtensions({ cwd: dir });
    expect(ext.rejected).toEqual([]);
    expect(ext.registry.isComplete('good')).toBe(true);
    const rewritten = (await readFile(path.join(dir, CACHE), 'utf8')).split('\n')[1]!;
    expect(JSON.parse(rewritten)).toHaveLength(1);
    expect(rewritten).toContain('good-region');
  });
});

describe('saving the cache', () => {
  it('never writes through a symlink planted at the old predictable temp name', async () => {
    const dir = await writeTree(await tempDir(), {
      'osml-extensions.config.json': '{}',
      'plugins/good/index.mjs': pairPlugin('good'),
      'victim.txt': 'keep me',
    });
    await loadExtensions({ cwd: dir });
    const cacheDir = path.dirname(path.join(dir, CACHE));
    await symlink(path.join(dir, 'victim.txt'), path.join(cacheDir, `manifests.json.${process.pid}.tmp`));
    await writeTree(dir, { 'plugins/other/index.mjs': pairPlugin('other') });
    await loadExtensions({ cwd: dir });
    expect(await readFile(path.join(dir, 'victim.txt'), 'utf8')).toBe('keep me');
    expect((await readdir(cacheDir)).filter((n) => n.endsWith('.tmp') && !n.includes(String(process.pid)))).toEqual([]);
  });
});
