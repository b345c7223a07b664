/**
 * The manifest cache file is trusted only in full: a body whose checksum is right but whose shape
 * is not (a number as a string, a file row of the wrong length, a pair of three, a refusal whose
 * params are not an object, one bad entry among good ones) is discarded as a whole. The boot then
 * imports every plugin, registers exactly what it registered before, says so in one debug line
 * naming the cache file relative to its folder, and leaves a cache the next boot trusts again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExtensions, type Extensions } from '../../src/host/extensions.js';
import { pairPlugin, recordingLogger, tempDir, writeTree } from '../helpers/index.js';

const CACHE = 'node_modules/.cache/osml-extensions/manifests.json';
/** How the discard line names the file: relative to the cache's parent, never an absolute path. */
const SHOWN_AS = 'osml-extensions/manifests.json';

let generation = 0;
const boot = (cwd: string, logger = recordingLogger()) =>
  loadExtensions({ cwd, env: {}, logger, reload: `s${++generation}` });

/** Appends the plugin's name to IMPORTS each time its module is evaluated. */
const counting = (name: string) =>
  `import { appendFileSync } from 'node:fs';\nappendFileSync(new URL('../../IMPORTS', import.meta.url), '${name}\\n');\n`;
const imports = async (dir: string): Promise<string[]> =>
  existsSync(path.join(dir, 'IMPORTS'))
    ? (await readFile(path.join(dir, 'IMPORTS'), 'utf8')).split('\n').filter(Boolean).sort()
    : [];

const snapshot = (ext: Extensions) => ({
  handlers: ext.registry.list().map(({ load: _load, ...info }) => info),
  rejected: ext.rejected.map(({ source, code, message, requestTypes }) => ({ source, code, message, requestTypes })),
});

/** A file row: path, size, mtime, ctime. */
type Row = unknown[];
interface Entry {
  source: unknown;
  shared: unknown;
  hash: unknown;
  files: unknown[];
  manifests: unknown[];
  rejected: { code: string; params: unknown; requestTypes: string[] }[];
}
type Pair = [string, Entry, ...unknown[]];
/** Change the cache's pairs in place (`good` and `bad` are the two plugins' pairs), or return a new body. */
type Edit = (pairs: Pair[], by: { good: Pair; bad: Pair }) => unknown;

/** A project of two plugins, one complete pair and one refused as MANIFEST_INVALID, booted once. */
async function booted(): Promise<{ dir: string; first: Extensions }> {
  const dir = await writeTree(await tempDir(), {
    'osml-extensions.config.json': '{}',
    'plugins/good/index.mjs': `${counting('good')}${pairPlugin('good')}`,
    'plugins/bad/index.mjs': `${counting('bad')}export default { requestType: 'Bad' };`,
  });
  const first = await boot(dir);
  expect(first.rejected.map((r) => [r.code, r.source])).toEqual([['MANIFEST_INVALID', 'plugins/bad/index.mjs']]);
  expect(await imports(dir)).toEqual(['bad', 'good']);
  return { dir, first };
}

/**
 * Rewrite the cache body through `edit`, with the body's right checksum so only the shape check can
 * refuse it, and the header as it was unless `header` patches it.
 * `1e400` in the result stands for a number too large to be finite (JSON.parse reads it as Infinity).
 */
async function forge(dir: string, edit: Edit, header: object = {}): Promise<void> {
  const file = path.join(dir, CACHE);
  const text = await readFile(file, 'utf8');
  const newline = text.indexOf('\n');
  const pairs = JSON.parse(text.slice(newline + 1)) as Pair[];
  const find = (name: string) => pairs.find(([entry]) => entry.endsWith(`/plugins/${name}/index.mjs`)) as Pair;
  expect(pairs).toHaveLength(2);
  const edited = edit(pairs, { good: find('good'), bad: find('bad') }) ?? pairs;
  const body = JSON.stringify(edited).replaceAll('"1e400"', '1e400');
  const sha256 = createHash('sha256').update(body).digest('base64');
  await writeFile(file, `${JSON.stringify({ ...JSON.parse(text.slice(0, newline)), sha256, ...header })}\n${body}`);
}

/** The entry file's row of a pair. */
const entryRow = (pair: Pair): Row => pair[1].files.find((f) => (f as Row)[0] === 'index.mjs') as Row;

describe('a manifest cache file that is discarded', () => {
  it.each<[string, Edit]>([
    ['a file size recorded as a string', (_, { good }) => void (entryRow(good)[1] = String(entryRow(good)[1]))],
    ['a file time too large to be finite', (_, { good }) => void (entryRow(good)[2] = '1e400')],
    ['a file row with a fifth field', (_, { good }) => void entryRow(good).push(0)],
    ['a file row with three fields', (_, { good }) => void entryRow(good).pop()],
    [
      'a file row that is an object shaped like a row',
      (_, { good }) => void (good[1].files = [{ ...entryRow(good), length: 4 }]),
    ],
    ['one malformed file row after a good one', (_, { good }) => void good[1].files.push(['other.mjs', 1, 2])],
    ['a pair of three', (_, { good }) => void good.push('extra')],
    ['an entry that is an array', (_, { good }) => void (good[1] = Object.values(good[1]) as never)],
    ['a source that is not a string', (_, { good }) => void (good[1].source = 5)],
    ['a shared fingerprint that is not a string', (_, { good }) => void (good[1].shared = 5)],
    ['a hash that is not a string', (_, { good }) => void (good[1].hash = 5)],
    ['a manifest that is not an object', (_, { good }) => void (good[1].manifests = ['good-region'])],
    ['refusal params that are null', (_, { bad }) => void (bad[1].rejected[0]!.params = null)],
    ['refusal params that are a string', (_, { bad }) => void (bad[1].rejected[0]!.params = 'Bad')],
    ['refusal params that are an array', (_, { bad }) => void (bad[1].rejected[0]!.params = ['Bad'])],
    ['a record instead of the array of pairs', (pairs) => Object.fromEntries(pairs.map(([k, v]) => [k, v]))],
  ])('%s: every plugin is imported again, with the same result', async (_what, edit) => {
    const { dir, first } = await booted();
    await forge(dir, edit);
    const logger = recordingLogger();
    const again = await boot(dir, logger);
    expect(snapshot(again)).toEqual(snapshot(first));
    expect(await imports(dir)).toEqual(['bad', 'bad', 'good', 'good']);
    const discarded = logger.lines.filter((l) => l.obj['event'] === 'cache.discarded');
    expect(discarded).toEqual([
      { level: 'debug', obj: { event: 'cache.discarded', file: SHOWN_AS }, msg: expect.stringMatching(/corrupt/) },
    ]);
    // The rebuilt cache is trusted again: the next boot imports nothing and discards nothing.
    const next = recordingLogger();
    expect(snapshot(await boot(dir, next))).toEqual(snapshot(first));
    expect(await imports(dir)).toEqual(['bad', 'bad', 'good', 'good']);
    expect(next.lines.filter((l) => l.obj['event'] === 'cache.discarded')).toEqual([]);
  });

  it('discards a file whose checksum does not match its body, or whose header is from another version, alike', async () => {
    const { dir, first } = await booted();
    // Another package or Node version, or none named, is another tool: its manifests are not trusted.
    for (const header of [{ sha256: 'AAAA' }, { tool: '0.0.0/node-0' }, { tool: '' }, { format: 1 }]) {
      await forge(dir, () => undefined, header);
      const logger = recordingLogger();
      expect(snapshot(await boot(dir, logger))).toEqual(snapshot(first));
      expect(logger.lines.filter((l) => l.obj['event'] === 'cache.discarded').map((l) => l.obj)).toEqual([
        { event: 'cache.discarded', file: SHOWN_AS },
      ]);
    }
    expect(await imports(dir)).toEqual([...Array(5).fill('bad'), ...Array(5).fill('good')]);
  });
});

describe('a cache file with nothing to record', () => {
  /** A project whose one root holds no plugin, so a boot records nothing in the cache. */
  async function empty(): Promise<string> {
    return writeTree(await tempDir(), { 'osml-extensions.config.json': '{}', 'plugins/.keep': '' });
  }
  const read = async (dir: string) => {
    const text = await readFile(path.join(dir, CACHE), 'utf8');
    const newline = text.indexOf('\n');
    return { header: JSON.parse(text.slice(0, newline)) as Record<string, unknown>, body: text.slice(newline + 1) };
  };

  it('is created by the first boot', async () => {
    const dir = await empty();
    await boot(dir);
    const { header, body } = await read(dir);
    expect(body).toBe('[]');
    expect(header['sha256']).toBe(createHash('sha256').update(body).digest('base64'));
  });

  it('replaces a corrupt one at the end of the boot', async () => {
    const dir = await empty();
    await writeTree(dir, { [CACHE]: 'not json {' });
    await boot(dir);
    expect((await read(dir)).body).toBe('[]');
    const logger = recordingLogger();
    await boot(dir, logger);
    expect(logger.lines.filter((l) => l.obj['event'] === 'cache.discarded')).toEqual([]);
  });
});
