/**
 * What a lock pins, file by file, seen through `pinFolder`, `Lock.open` and a boot: the digest
 * format a lock written by another version must still match, the order of names, links, special
 * files (FIFO, socket, device) refused in-process with their names, and a lock that cannot be read.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kindOf, Lock, pinFolder } from '../../src/boot/lock.js';
import { loadConfig } from '../../src/config.js';
import { loadExtensions } from '../../src/host/extensions.js';
import { markedPlugin, pairPlugin, uncachedProject as project, writeTree } from '../helpers/index.js';
import { lockProject } from '../helpers/lock.js';

const LOCK = 'osml-extensions.lock.json';

const sri = (bytes: Buffer | string): string => `sha512-${createHash('sha512').update(bytes).digest('base64')}`;

/** The error a promise rejects with (a failure if it resolves). */
const rejection = <E = Error & { code: string; params: Record<string, unknown> }>(
  promise: Promise<unknown>,
): Promise<E> =>
  promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error as E,
  );

/** A rejection's code and params. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; params: Record<string, unknown> }> {
  const { code, params } = await rejection(promise);
  return { code, params };
}

describe('the digest format (docs/security.md): a lock written by another version still matches', () => {
  it('is SHA-512 over path, NUL, link target, NUL, length, NUL and the bytes of each file, in order', async () => {
    const dir = await project({ 'p/index.mjs': 'export default 1;\n', 'p/sub/data.json': '{}' });
    await symlink('index.mjs', path.join(dir, 'p/alias.mjs'));
    const pin = await pinFolder(path.join(dir, 'p'), 'p');
    // Written from the documented format, not from the code under test.
    const entry = Buffer.from('export default 1;\n');
    const data = Buffer.from('{}');
    const expected = createHash('sha512')
      .update('alias.mjs\0index.mjs\0' + `${entry.length}\0`)
      .update(entry)
      .update(`index.mjs\0\0${entry.length}\0`)
      .update(entry)
      .update(`sub/data.json\0\0${data.length}\0`)
      .update(data)
      .digest('base64');
    expect(pin).toEqual({
      folder: 'p',
      integrity: `sha512-${expected}`,
      files: [
        ['alias.mjs', sri(entry)],
        ['index.mjs', sri(entry)],
        ['sub/data.json', sri(data)],
      ],
    });
  });

  it('orders names by UTF-16 code units, not by the bytes readdir sorts them by', async () => {
    // U+FF5A sorts after U+1F600 in UTF-16 (0xFF5A > 0xD83D), before it in UTF-8 bytes and code points.
    const dir = await project({ 'p/\u{FF5A}.mjs': '1', 'p/\u{1F600}.mjs': '2', 'p/a.mjs': '3', 'p/Z.mjs': '4' });
    const pin = await pinFolder(path.join(dir, 'p'), 'p');
    expect(pin.files.map(([file]) => file)).toEqual(['Z.mjs', 'a.mjs', '\u{1F600}.mjs', '\u{FF5A}.mjs']);
  });
});

describe('links', () => {
  it('pins a link to a file by the bytes it leads to, wherever they are', async () => {
    const dir = await project({ 'p/index.mjs': '1', 'outside/shared.mjs': 'before' });
    await symlink('../outside/shared.mjs', path.join(dir, 'p/shared.mjs'));
    const before = await pinFolder(path.join(dir, 'p'), 'p');
    expect(before.files).toEqual([
      ['index.mjs', sri('1')],
      ['shared.mjs', sri('before')],
    ]);
    await writeTree(dir, { 'outside/shared.mjs': 'after!' });
    const after = await pinFolder(path.join(dir, 'p'), 'p');
    expect(after.files[1]).toEqual(['shared.mjs', sri('after!')]);
    expect(after.integrity).not.toBe(before.integrity);
  });

  it('a link re-pointed at a file with the same bytes: INTEGRITY_MISMATCH, "content differs"', async () => {
    const dir = await project({
      'plugins/p/index.mjs': pairPlugin('p_type'),
      'plugins/p/one': 'x',
      'plugins/p/two': 'x',
    });
    await symlink('one', path.join(dir, 'plugins/p/data'));
    await lockProject(dir);
    await rm(path.join(dir, 'plugins/p/data'));
    await symlink('two', path.join(dir, 'plugins/p/data'));
    const ext = await loadExtensions({ cwd: dir, env: {} });
    expect(ext.rejected.map((r) => r.code)).toEqual(['INTEGRITY_MISMATCH']);
    expect(ext.rejected[0]?.message).toContain('(content differs; expected sha512-');
  });
});

describe('every file of a folder, named in the refusal', () => {
  it('lists each changed, extra and missing file, comma-separated', async () => {
    const dir = await project({
      'plugins/p/index.mjs': pairPlugin('p_type'),
      'plugins/p/a.mjs': '1',
      'plugins/p/b.mjs': '2',
      'plugins/p/c.json': '3',
      'plugins/p/d.json': '4',
    });
    await lockProject(dir);
    await writeTree(dir, { 'plugins/p/a.mjs': 'one', 'plugins/p/b.mjs': 'two', 'plugins/p/e': '', 'plugins/p/f': '' });
    await rm(path.join(dir, 'plugins/p/c.json'));
    await rm(path.join(dir, 'plugins/p/d.json'));
    const ext = await loadExtensions({ cwd: dir, env: {} });
    expect(ext.rejected[0]?.message).toContain(
      '(changed: a.mjs, b.mjs; extra: e, f; missing: c.json, d.json; expected',
    );
  });
});

describe('special files are refused by name and kind, before anything reads them', () => {
  it('kindOf names each kind, and anything else as "not a regular file"', () => {
    const kinds = ['FIFO', 'Socket', 'CharacterDevice', 'BlockDevice'] as const;
    const stats = (kind?: (typeof kinds)[number]) =>
      Object.fromEntries(kinds.map((k) => [`is${k}`, () => k === kind])) as Parameters<typeof kindOf>[0];
    expect(kinds.map((kind) => kindOf(stats(kind)))).toEqual([
      'a FIFO',
      'a socket',
      'a character device',
      'a block device',
    ]);
    expect(kindOf(stats())).toBe('not a regular file');
  });

  it('a FIFO in a subfolder', async () => {
    const dir = await project({ 'p/index.mjs': '1' });
    await writeTree(dir, { 'p/sub/.keep': '' });
    execFileSync('mkfifo', [path.join(dir, 'p/sub/pipe')]);
    expect(await refusal(pinFolder(path.join(dir, 'p'), 'plugins/p'))).toEqual({
      code: 'SPECIAL_FILE',
      params: { file: 'plugins/p/sub/pipe', kind: 'a FIFO' },
    });
  });

  it('a socket (which cannot even be opened)', async () => {
    const dir = await project({ 'p/index.mjs': '1' });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'p/sock'), resolve));
    try {
      expect(await refusal(pinFolder(path.join(dir, 'p'), 'plugins/p'))).toEqual({
        code: 'SPECIAL_FILE',
        params: { file: 'plugins/p/sock', kind: 'a socket' },
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a link to a character device (/dev/zero), never read forever', async () => {
    const dir = await project({ 'p/index.mjs': '1' });
    await symlink('/dev/zero', path.join(dir, 'p/zero'));
    expect(await refusal(pinFolder(path.join(dir, 'p'), 'plugins/p'))).toEqual({
      code: 'SPECIAL_FILE',
      params: { file: 'plugins/p/zero', kind: 'a character device' },
    });
  });
});

describe('a lock file that cannot be read is CONFIG_INVALID, saying why', () => {
  const open = async (dir: string) => Lock.open(await loadConfig({ cwd: dir, env: {} }));

  it('a folder: "not a regular file", with the refusal as cause', async () => {
    const dir = await project({ [`${LOCK}/.keep`]: '' });
    const error = await rejection<Error & { code: string; params: { problems: string[] } }>(open(dir));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.params.problems).toEqual([expect.stringContaining('is not a regular file')]);
    expect(error.cause).toMatchObject({ code: 'SPECIAL_FILE' });
  });

  it('a symlink loop: "it cannot be read", naming the errno, with the fs error as cause', async () => {
    const dir = await project({});
    await symlink(LOCK, path.join(dir, LOCK));
    const error = await rejection(open(dir));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.params).toEqual({ where: LOCK, problems: [expect.stringMatching(/^it cannot be read \(.*ELOOP/)] });
    expect(error.cause).toMatchObject({ code: 'ELOOP' });
  });
});

describe('the load hook', () => {
  it('refuses a module a pinned plugin adds to its own folder after it was verified', async () => {
    const dir = await project({
      'plugins/p/index.mjs': `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./late.mjs', import.meta.url), "writeFileSync(new URL('./LATE-RAN', import.meta.url), '');");
await import('./late.mjs');
${pairPlugin('p_type')}`,
    });
    await lockProject(dir);
    const ext = await loadExtensions({ cwd: dir, env: {} });
    expect(ext.rejected.map((r) => r.code)).toEqual(['INTEGRITY_MISMATCH']);
    expect(ext.rejected[0]?.message).toContain('a module inside a pinned plugin folder is not in its pin');
    expect(existsSync(path.join(dir, 'plugins/p/LATE-RAN'))).toBe(false);
  });

  it('a plugin changed and locked again loads its new code on the next reload in the same process', async () => {
    const dir = await project({ 'plugins/p/index.mjs': markedPlugin('first_type') });
    await lockProject(dir);
    const first = await loadExtensions({ cwd: dir, env: {}, reload: 'one' });
    expect(first.registry.isComplete('first_type')).toBe(true);
    // The same file, new bytes, a new lock: the hook must check against the new pins only.
    await writeTree(dir, { 'plugins/p/index.mjs': markedPlugin('second_type') });
    await lockProject(dir);
    const second = await loadExtensions({ cwd: dir, env: {}, reload: 'two' });
    expect(second.rejected).toEqual([]);
    expect(second.registry.isComplete('second_type')).toBe(true);
  });

  it('a lock copied from another checkout of the same tree matches (folders are keyed relative to it)', async () => {
    const files = { 'plugins/p/index.mjs': pairPlugin('p_type') };
    const [here, there] = await Promise.all([project(files), project(files)]);
    await lockProject(there);
    await copyFile(path.join(there, LOCK), path.join(here, LOCK));
    expect(JSON.parse(await readFile(path.join(here, LOCK), 'utf8'))).toMatchObject({
      plugins: [{ folder: 'plugins/p' }],
    });
    const ext = await loadExtensions({ cwd: here, env: {} });
    expect(ext.rejected).toEqual([]);
    expect(ext.registry.isComplete('p_type')).toBe(true);
  });
});
