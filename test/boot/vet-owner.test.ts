/**
 * The owner check as it works for a host that does not run as root (every other test here runs as
 * root, where "owned by me" and "owned by root" are the same uid and cannot be told apart), and on
 * a platform without uids (Windows). The process's uid is read once, when vetting is loaded, so
 * each case loads it afresh with `process.getuid` stubbed.
 */
import { chown } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeConfig, pairPlugin, recordingLogger, tempDir, writeTree } from '../helpers/index.js';

const HOST = 4242;
const STRANGER = 12345;

/** Vet `plugins/*` of a fresh folder whose entries are owned as given, as a process with `getuid`. */
async function vetOwned(owners: Record<string, number>, getuid: (() => number) | undefined) {
  const dir = await tempDir();
  await writeTree(
    dir,
    Object.fromEntries(Object.keys(owners).map((name) => [`plugins/${name}/index.mjs`, pairPlugin(name)])),
  );
  for (const [name, uid] of Object.entries(owners)) await chown(path.join(dir, `plugins/${name}/index.mjs`), uid, uid);
  vi.stubGlobal('process', Object.assign(Object.create(process) as NodeJS.Process, { getuid }));
  vi.resetModules();
  const { discover } = await import('../../src/boot/discover.js');
  const { vet } = await import('../../src/boot/vet.js');
  vi.unstubAllGlobals();
  const config = makeConfig({ cwd: dir, pluginDirs: [path.join(dir, 'plugins')], permissions: 'strict' });
  const { plugins } = await discover({ roots: config.pluginDirs, cwd: dir, withFiles: false });
  const { rejected } = await vet(plugins, config, undefined, recordingLogger());
  return rejected.map((r) => [r.code, r.source]);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('ownership for a host that is not root', () => {
  it('admits entries owned by the host’s own user or by root, and refuses one owned by another user', async () => {
    expect(await vetOwned({ mine: HOST, roots: 0, theirs: STRANGER }, () => HOST)).toEqual([
      ['INSECURE_PERMISSIONS', 'plugins/theirs/index.mjs'],
    ]);
  });

  it('checks no owner where the platform has no uids', async () => {
    expect(await vetOwned({ theirs: STRANGER }, undefined)).toEqual([]);
  });
});
