import { once } from 'node:events';
import { lstat, mkdir, open, readdir, readFile, readlink, rename, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isExtensionError, type ExtensionError } from '../../src/shared/errors.js';
import type { Feature } from '../../src/shared/geojson.js';
import { featureCollectionText, writeFeaturesToFile, writeFeaturesToStream } from '../../src/runner/write.js';
import { tempDir } from '../helpers/index.js';

// Pass-through spies: every call does the real thing, and the temp file's name and flags can be read back.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, open: vi.fn(actual.open), rename: vi.fn(actual.rename) };
});

afterEach(() => {
  vi.mocked(open).mockClear();
  vi.mocked(rename).mockClear();
});

const feature = (i: number): Feature => ({
  type: 'Feature',
  id: `f-${i}`,
  geometry: { type: 'Point', coordinates: [i, i + 0.5] },
  properties: { index: i, name: `feature "${i}"\n` },
});
const features = (n: number): Feature[] => Array.from({ length: n }, (_, i) => feature(i));

const OLD = '{"type":"FeatureCollection","features":[]} old content\n';

async function rejectionOf(promise: Promise<unknown>): Promise<ExtensionError<'OUTPUT_FAILED'>> {
  const thrown = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isExtensionError(thrown), `expected an ExtensionError, got ${String(thrown)}`).toBe(true);
  expect((thrown as ExtensionError).code).toBe('OUTPUT_FAILED');
  return thrown as ExtensionError<'OUTPUT_FAILED'>;
}

/** The temp files `open` was asked to create, with their flags. */
const opened = (): { file: string; flags: unknown }[] =>
  vi.mocked(open).mock.calls.map(([file, flags]) => ({ file: String(file), flags }));

describe('writeFeaturesToFile: content', () => {
  it.each([0, 1, 512, 1500])('writes a FeatureCollection of %i features that parses back to them', async (n) => {
    const file = path.join(await tempDir(), 'out.geojson');
    const list = features(n);
    await writeFeaturesToFile(list, file);
    const text = await readFile(file, 'utf8');
    expect(JSON.parse(text)).toEqual({ type: 'FeatureCollection', features: list });
    expect(text).toBe(featureCollectionText(list));
  });

  it('replaces an existing file, leaving only the target in its folder', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.geojson');
    await writeFile(file, OLD);
    await writeFeaturesToFile(features(3), file);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ type: 'FeatureCollection', features: features(3) });
    expect(await readdir(dir)).toEqual(['out.geojson']);
  });
});

describe('writeFeaturesToFile: failures leave the old file and no temp file', () => {
  it('keeps the old file when serialising fails half-way, and removes the partial temp file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.geojson');
    await writeFile(file, OLD);
    const list = features(1500);
    // A BigInt cannot be serialised: the first batch is already written when the second one throws.
    (list[1000] as Feature).properties = { big: 10n };
    const error = await rejectionOf(writeFeaturesToFile(list, file));
    expect(error.message).toContain(file);
    expect(await readFile(file, 'utf8')).toBe(OLD);
    expect(await readdir(dir)).toEqual(['out.geojson']);
  });

  it('keeps the old file when the rename fails, and removes the temp file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.geojson');
    await writeFile(file, OLD);
    vi.mocked(rename).mockRejectedValueOnce(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    const error = await rejectionOf(writeFeaturesToFile(features(5), file));
    expect(error.message).toContain(file);
    expect(await readFile(file, 'utf8')).toBe(OLD);
    expect(await readdir(dir)).toEqual(['out.geojson']);
  });

  it('fails with OUTPUT_FAILED when the target is a directory, leaving it alone', async () => {
    const dir = await tempDir();
    const target = path.join(dir, 'out.geojson');
    await mkdir(target);
    await writeFile(path.join(target, 'keep.txt'), 'keep');
    const error = await rejectionOf(writeFeaturesToFile(features(2), target));
    expect(error.message).toContain(target);
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await readdir(target)).toEqual(['keep.txt']);
    expect(await readdir(dir)).toEqual(['out.geojson']);
  });

  it('fails with OUTPUT_FAILED naming the path as given when its folder does not exist', async () => {
    const dir = await tempDir();
    const given = path.relative(process.cwd(), path.join(dir, 'missing', 'out.geojson'));
    expect(path.isAbsolute(given)).toBe(false);
    const error = await rejectionOf(writeFeaturesToFile(features(1), given));
    expect(error.params.out).toBe(given);
    expect(error.message).toContain(given);
    expect(await readdir(dir)).toEqual([]);
  });

  it('names the label it is given rather than the path', async () => {
    const dir = await tempDir();
    const error = await rejectionOf(
      writeFeaturesToFile(features(1), path.join(dir, 'missing', 'x.geojson'), 'results/x.geojson'),
    );
    expect(error.params.out).toBe('results/x.geojson');
  });
});

describe('writeFeaturesToFile: the temp file', () => {
  it('creates it exclusively, beside the target, under a new random name each time', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'out.geojson');
    await writeFeaturesToFile(features(1), file);
    await writeFeaturesToFile(features(2), file);
    const temps = opened();
    expect(temps).toHaveLength(2);
    const [first, second] = temps;
    expect(first?.flags).toBe('wx');
    expect(second?.flags).toBe('wx');
    expect(path.dirname(first?.file ?? '')).toBe(dir);
    expect(path.dirname(second?.file ?? '')).toBe(dir);
    expect(first?.file).not.toBe(second?.file);
    expect(first?.file).not.toBe(file);
    expect(await readdir(dir)).toEqual(['out.geojson']);
  });

  it('never follows a symlink planted at a predictable temp name', async () => {
    const dir = await tempDir();
    const victim = path.join(dir, 'victim.txt');
    await writeFile(victim, 'precious');
    const file = path.join(dir, 'out.geojson');
    const planted = ['out.geojson.tmp', '.out.geojson.tmp', 'out.geojson~', '.out.geojson.swp'];
    for (const name of planted) await symlink(victim, path.join(dir, name));
    await writeFeaturesToFile(features(4), file);
    expect(await readFile(victim, 'utf8')).toBe('precious');
    for (const name of planted) expect(await readlink(path.join(dir, name))).toBe(victim);
    expect((await lstat(file)).isFile()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual([...planted, 'out.geojson', 'victim.txt'].sort());
  });
});

/** A stream that takes a few milliseconds per chunk and records any write made while it asked the writer to wait. */
function slowStream(): {
  stream: Writable;
  chunks: string[];
  text: () => string;
  writesWhileFull: () => number;
  drains: () => number;
} {
  const chunks: string[] = [];
  let writesWhileFull = 0;
  let drains = 0;
  const stream = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      setTimeout(callback, 2);
    },
  });
  stream.on('drain', () => drains++);
  const write = stream.write.bind(stream);
  stream.write = ((...args: Parameters<Writable['write']>) => {
    if (stream.writableNeedDrain) writesWhileFull++;
    return write(...args);
  }) as Writable['write'];
  return { stream, chunks, text: () => chunks.join(''), writesWhileFull: () => writesWhileFull, drains: () => drains };
}

describe('writeFeaturesToStream', () => {
  it.each([0, 1, 1500])(
    'waits for drain between chunks and writes the same text as featureCollectionText (%i features)',
    async (n) => {
      const list = features(n);
      const slow = slowStream();
      await writeFeaturesToStream(list, slow.stream);
      slow.stream.end();
      await once(slow.stream, 'finish');
      expect(slow.writesWhileFull()).toBe(0);
      expect(slow.drains()).toBeGreaterThan(0);
      expect(slow.text()).toBe(featureCollectionText(list));
      expect(JSON.parse(slow.text())).toEqual({ type: 'FeatureCollection', features: list });
    },
  );

  it('serialises many features in batches: no single chunk holds them all', async () => {
    const slow = slowStream();
    await writeFeaturesToStream(features(1500), slow.stream);
    slow.stream.end();
    await once(slow.stream, 'finish');
    expect(slow.chunks.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...slow.chunks.map((c) => c.length))).toBeLessThan(slow.text().length / 2);
  });
});
