import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INDEX_FILES, discover } from '../../src/boot/discover.js';
import { fixture, tempDir, writeTree } from '../helpers/index.js';

const MARKER = 'IMPORTED';

describe('discover', () => {
  it('finds direct subfolders with their entries, sorted, and imports nothing', async () => {
    const cwd = fixture('mixed');
    const { plugins, rejected } = await discover({ roots: [path.join(cwd, 'plugins')], cwd });
    expect(rejected).toEqual([]);
    expect(plugins.map((p) => p.source)).toEqual([
      'plugins/commonjs/index.cjs',
      'plugins/decorated/index.mjs',
      'plugins/default-array/index.mjs',
      'plugins/named-exports/index.mjs',
      'plugins/pkg-exports/src/main.mjs',
      'plugins/pkg-main/lib/entry.js',
    ]);
    for (const skipped of ['_private', '.hidden', 'node_modules']) {
      expect(existsSync(path.join(cwd, 'plugins', skipped, MARKER))).toBe(false);
    }
  });

  it('sorts by code point, not by locale or filesystem order', async () => {
    const dir = await tempDir();
    for (const name of ['b', 'B', 'a', 'Z', 'é', '10', '9'])
      await writeTree(dir, { [`plugins/${name}/index.mjs`]: 'export default {};' });
    const { plugins } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    expect(plugins.map((p) => p.name)).toEqual(['10', '9', 'B', 'Z', 'a', 'b', 'é']);
  });

  it('never takes a root’s node_modules folder for a plugin, even with an index file', async () => {
    // The fixture above has one too, but tools that copy a project (StrykerJS's sandbox) leave
    // node_modules folders out; this one is made on the spot.
    const dir = await tempDir();
    await writeTree(dir, { 'plugins/node_modules/index.mjs': '', 'plugins/real/index.mjs': '' });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'plugins')], cwd: dir });
    expect([plugins.map((p) => p.name), rejected]).toEqual([['real'], []]);
  });

  it('keeps roots in the given order', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'z-root/a/index.mjs': '', 'a-root/b/index.mjs': '' });
    const { plugins } = await discover({ roots: [path.join(dir, 'z-root'), path.join(dir, 'a-root')], cwd: dir });
    expect(plugins.map((p) => p.source)).toEqual(['z-root/a/index.mjs', 'a-root/b/index.mjs']);
  });

  it('prefers index.js, then index.mjs, then index.cjs', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'p/all/index.js': '',
      'p/all/index.mjs': '',
      'p/all/index.cjs': '',
      'p/two/index.mjs': '',
      'p/two/index.cjs': '',
      'p/one/index.cjs': '',
    });
    const { plugins } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.source)).toEqual(['p/all/index.js', 'p/one/index.cjs', 'p/two/index.mjs']);
  });

  it('follows package.json: exports string, exports["."] conditions, then main, then index files', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'p/a/package.json': JSON.stringify({ exports: './lib/a.mjs', main: 'no.js' }),
      'p/a/lib/a.mjs': '',
      'p/b/package.json': JSON.stringify({ exports: { '.': { node: { import: './b.mjs' }, default: './no.js' } } }),
      'p/b/b.mjs': '',
      'p/c/package.json': JSON.stringify({ main: 'c.cjs' }),
      'p/c/c.cjs': '',
      'p/c/index.js': '',
      'p/d/package.json': JSON.stringify({ name: 'no-entry-fields' }),
      'p/d/index.mjs': '',
    });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(rejected).toEqual([]);
    expect(plugins.map((p) => p.source)).toEqual(['p/a/lib/a.mjs', 'p/b/b.mjs', 'p/c/c.cjs', 'p/d/index.mjs']);
  });

  it('reports a folder without an entry and a package.json naming a missing file, and keeps the rest', async () => {
    const cwd = fixture('error-no-entry');
    const { plugins, rejected } = await discover({ roots: [path.join(cwd, 'plugins')], cwd });
    expect(plugins.map((p) => p.name)).toEqual(['good']);
    expect(rejected.map((r) => [r.code, r.source])).toEqual([
      ['ENTRY_NOT_FOUND', 'plugins/empty'],
      ['ENTRY_NOT_FOUND', 'plugins/wrong-main'],
    ]);
    expect(rejected[1]?.message).toContain('plugins/wrong-main/dist/missing.js');
  });

  it('reports malformed package.json with PACKAGE_JSON_INVALID', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'p/bad/package.json': '{ nope', 'p/num/package.json': '{"main": 5}', 'p/ok/index.mjs': '' });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.name)).toEqual(['ok']);
    expect(rejected.map((r) => [r.code, r.source])).toEqual([
      ['PACKAGE_JSON_INVALID', 'p/bad'],
      ['PACKAGE_JSON_INVALID', 'p/num'],
    ]);
    expect(rejected[1]?.message).toContain('p/num/package.json');
  });

  it('reports a missing or non-directory root: an error when named, a warning for the default', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'file'), '');
    const named = await discover({ roots: [path.join(dir, 'missing'), path.join(dir, 'file')], cwd: dir });
    expect(named.rejected.map((r) => [r.code, r.source, r.level])).toEqual([
      ['ROOT_INVALID', 'missing', 'error'],
      ['ROOT_INVALID', 'file', 'error'],
    ]);
    const byDefault = await discover({ roots: [path.join(dir, 'missing')], cwd: dir, rootsNamed: false });
    expect(byDefault.rejected[0]?.level).toBe('warn');
  });

  it('does not follow directory symlinks', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'elsewhere/linked/index.mjs': '', 'p/real/index.mjs': '' });
    await symlink(path.join(dir, 'elsewhere/linked'), path.join(dir, 'p/linked'));
    const { plugins } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.name)).toEqual(['real']);
  });

  it('finds nothing in an empty root without complaint', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'p'));
    expect(await discover({ roots: [path.join(dir, 'p')], cwd: dir })).toEqual({ plugins: [], rejected: [] });
  });
});

describe('package.json entries', () => {
  it('takes the "default" condition, and passes over a null "exports" to "main"', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'p/default/package.json': JSON.stringify({ exports: { default: './d.mjs' }, main: './no.mjs' }),
      'p/default/d.mjs': '',
      'p/dot-default/package.json': JSON.stringify({ exports: { '.': { require: './r.cjs', default: './d.mjs' } } }),
      'p/dot-default/r.cjs': '',
      'p/dot-default/d.mjs': '',
      'p/null-dot/package.json': JSON.stringify({ exports: { '.': null }, main: './m.mjs' }),
      'p/null-dot/m.mjs': '',
      'p/null-exports/package.json': JSON.stringify({ exports: null, main: './m.mjs' }),
      'p/null-exports/m.mjs': '',
    });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(rejected).toEqual([]);
    expect(plugins.map((p) => p.source)).toEqual([
      'p/default/d.mjs',
      'p/dot-default/d.mjs',
      'p/null-dot/m.mjs',
      'p/null-exports/m.mjs',
    ]);
  });

  it('refuses an "exports" or "main" that is not a path, naming the field and what it received', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'p/condition/package.json': JSON.stringify({ exports: { '.': { import: true } } }),
      'p/condition/index.mjs': '',
      'p/exports/package.json': JSON.stringify({ exports: 5, main: './index.mjs' }),
      'p/exports/index.mjs': '',
      'p/main/package.json': JSON.stringify({ main: ['./index.mjs'] }),
      'p/main/index.mjs': '',
    });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins).toEqual([]);
    expect(rejected.map((r) => [r.code, r.source, r.error.params])).toEqual([
      [
        'PACKAGE_JSON_INVALID',
        'p/condition',
        { file: 'p/condition/package.json', problem: expect.stringMatching(/"exports".*received true/) },
      ],
      [
        'PACKAGE_JSON_INVALID',
        'p/exports',
        { file: 'p/exports/package.json', problem: expect.stringMatching(/"exports".*received 5/) },
      ],
      [
        'PACKAGE_JSON_INVALID',
        'p/main',
        { file: 'p/main/package.json', problem: expect.stringMatching(/"main".*received \["\.\/index\.mjs"\]/) },
      ],
    ]);
  });

  it('refuses a package.json that is not a JSON object, even when an index file is there', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'p/null/package.json': 'null',
      'p/null/index.mjs': '',
      'p/number/package.json': '42',
      'p/number/index.mjs': '',
      'p/string/package.json': '"./index.mjs"',
      'p/string/index.mjs': '',
      'p/array/package.json': '["./index.mjs"]',
      'p/array/index.mjs': '',
    });
    const { plugins, rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins).toEqual([]);
    expect(rejected.map((r) => [r.code, r.error.params])).toEqual(
      ['array', 'null', 'number', 'string'].map((name) => [
        'PACKAGE_JSON_INVALID',
        { file: `p/${name}/package.json`, problem: expect.stringContaining('not a JSON object') },
      ]),
    );
  });

  it('keeps the parse error of a malformed package.json as the cause', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'p/bad/package.json': '{ nope', 'p/bad/index.mjs': '' });
    const { rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(rejected.map((r) => r.code)).toEqual(['PACKAGE_JSON_INVALID']);
    expect(rejected[0]?.error.cause).toBeInstanceOf(SyntaxError);
  });

  it('says what it looked for when a folder has no entry', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'p/empty/notes.txt': '', 'p/named-none/package.json': '{"name": "x"}' });
    const { rejected } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(rejected.map((r) => [r.code, r.error.params])).toEqual(
      ['empty', 'named-none'].map((name) => [
        'ENTRY_NOT_FOUND',
        { folder: `p/${name}`, tried: ['package.json "exports"/"main"', ...INDEX_FILES] },
      ]),
    );
  });

  it('does not take a folder named like an index file for the entry', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'p/a/index.js/inner.mjs': '', 'p/a/index.mjs': '' });
    const { plugins } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.source)).toEqual(['p/a/index.mjs']);
  });
});

describe('plugin roots that cannot be used', () => {
  it('name the root, what it is and why it was chosen; they declare no request types', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'file'), '');
    const roots = [path.join(dir, 'missing'), path.join(dir, 'file')];
    const note = 'no config file was found';
    const { rejected } = await discover({ roots, cwd: dir, rootsNamed: false, rootNote: note });
    expect(rejected.map((r) => [r.code, r.source, r.level, r.requestTypes, r.error.params])).toStrictEqual([
      ['ROOT_INVALID', 'missing', 'warn', [], { root: 'missing', received: 'missing', note }],
      ['ROOT_INVALID', 'file', 'warn', [], { root: 'file', received: 'not a directory', note }],
    ]);
    expect(rejected[0]?.message).toContain(note);
  });

  it('carry no note when none was given', async () => {
    const dir = await tempDir();
    const { rejected } = await discover({ roots: [path.join(dir, 'missing')], cwd: dir });
    expect(rejected.map((r) => r.error.params)).toStrictEqual([{ root: 'missing', received: 'missing' }]);
  });
});

describe('folder order and names', () => {
  it('orders folders as JavaScript compares strings: above U+FFFF before U+E000-U+FFFF, unlike byte order', async () => {
    const dir = await tempDir();
    // U+FF5E (bytes EF BD 9E) comes before U+1F600 (F0 9F 98 80) in bytes and code points, and in
    // the order the file system lists them; as UTF-16 (FF5E vs D83D DE00) it comes after.
    for (const name of ['～', '😀', 'a', 'z']) await writeTree(dir, { [`p/${name}/index.mjs`]: '' });
    const { plugins } = await discover({ roots: [path.join(dir, 'p')], cwd: dir });
    expect(plugins.map((p) => p.name)).toEqual(['a', 'z', '😀', '～']);
  });

  it('shows a refused name byte by byte: printable ASCII as is, a backslash and every other byte as \\xNN', async () => {
    const cwd = await tempDir();
    const root = path.join(cwd, 'plugins');
    await writeTree(cwd, { 'plugins/ok/index.mjs': '' });
    // Sorted as discovery sorts the names (the invalid byte reads as U+FFFD).
    const names: [bytes: Buffer, shown: string][] = [
      [Buffer.from('back\\slash\x01'), 'back\\x5cslash\\x01'],
      [Buffer.from([0x62, 0x61, 0x64, 0xff, 0x75]), 'bad\\xffu'],
      [Buffer.from('del\x7f'), 'del\\x7f'],
      [Buffer.from('sp ace\x01'), 'sp ace\\x01'],
      [Buffer.from('~tilde\x1b'), '~tilde\\x1b'],
      [Buffer.from('é\x1b'), '\\xc3\\xa9\\x1b'],
    ];
    for (const [bytes] of names) await mkdir(Buffer.concat([Buffer.from(`${root}/`), bytes]));
    const { plugins, rejected } = await discover({ roots: [root], cwd });
    expect(plugins.map((p) => p.name)).toEqual(['ok']);
    expect(rejected.map((r) => [r.code, r.source, r.error.params])).toEqual(
      names.map(([, shown]) => ['BAD_FILENAME', `plugins/${shown}`, { root: 'plugins', name: shown }]),
    );
  });
});
