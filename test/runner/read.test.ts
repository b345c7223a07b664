import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fromFile } from 'geotiff';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { openImage, type ImageSource } from '../../src/runner/read.js';
import { isExtensionError } from '../../src/shared/errors.js';
import type { Bounds } from '../../src/shared/geojson.js';
import { encodeGeoTiff, renderPixels, writeGeoTiff, type WriteGeoTiffOptions, tinyTiff } from '../helpers/geotiff.js';
import { fixture, tempDir } from '../helpers/index.js';

const L7 = fixture('imagery/L7_ETMs.tif');
const utm: WriteGeoTiffOptions['georef'] = {
  kind: 'tiepoint',
  tiepoint: [0, 0, 0, 500000, 4000000, 0],
  pixelScale: [2, 2, 0],
  epsg: 32633,
};
const rgb: WriteGeoTiffOptions = {
  width: 600,
  height: 400,
  bands: 3,
  background: 20,
  squares: [
    { x: 100, y: 50, size: 16, value: [250, 40, 40] },
    { x: 570, y: 380, size: 30, value: [10, 200, 90] }, // clipped by the bottom-right corner
  ],
  georef: utm,
};
const grey: WriteGeoTiffOptions = { ...rgb, bands: 1, squares: [{ x: 590, y: 390, size: 10, value: 255 }] };

/** `bounds` cut out of row-major interleaved pixels. */
function crop(pixels: Uint8Array, width: number, channels: number, b: Bounds): Buffer {
  const out = Buffer.alloc(b.width * b.height * channels);
  for (let row = 0; row < b.height; row++) {
    const from = ((b.y + row) * width + b.x) * channels;
    out.set(pixels.subarray(from, from + b.width * channels), row * b.width * channels);
  }
  return out;
}

/** The code (and reason/problem) of what `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; text: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isExtensionError(error)) throw new Error(`expected an ExtensionError, got ${String(error)}`);
  const p = error.params as { reason?: string; problem?: string; problems?: string[] };
  return { code: error.code, text: p.reason ?? p.problem ?? p.problems?.join('; ') ?? '' };
}

async function write(name: string, bytes: Buffer | Uint8Array): Promise<string> {
  const file = path.join(await tempDir(), name);
  await writeFile(file, bytes);
  return file;
}

describe('openImage + readWindow on GeoTIFFs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('reads planted squares of a 3-band image back exactly, including at the far corner', async () => {
    const { file } = await writeGeoTiff(path.join(dir, 'rgb.tif'), rgb);
    const image = await openImage(file);
    expect(image).toMatchObject({ width: 600, height: 400, bands: 3, channels: 3, depth: 'uchar', bitsPerSample: 8 });
    expect(image.georef?.crs.epsg).toBe(32633);
    expect(image.warnings).toEqual([]);
    const pixels = renderPixels(rgb);
    for (const b of [
      { x: 90, y: 40, width: 40, height: 30 },
      { x: 550, y: 360, width: 50, height: 40 },
      { x: 0, y: 0, width: 600, height: 400 },
    ]) {
      const tile = await image.readWindow(b);
      expect(tile).toMatchObject({ width: b.width, height: b.height, channels: 3 });
      expect(tile.data.equals(crop(pixels, 600, 3, b))).toBe(true);
    }
    expect((await image.readWindow({ x: 599, y: 399, width: 1, height: 1 })).data).toEqual(Buffer.from([10, 200, 90]));
  });

  it('reads a 1-band image as 1 channel', async () => {
    const { file } = await writeGeoTiff(path.join(dir, 'grey.tif'), grey);
    const image = await openImage(file);
    expect(image.channels).toBe(1);
    const b = { x: 580, y: 380, width: 20, height: 20 };
    const tile = await image.readWindow(b);
    expect(tile.channels).toBe(1);
    expect(tile.data.equals(crop(renderPixels(grey), 600, 1, b))).toBe(true);
  });

  it('gives bands 1-3 of the 6-band L7_ETMs.tif, as geotiff.js decodes them', async () => {
    const image = await openImage(L7);
    expect(image).toMatchObject({ width: 349, height: 352, bands: 6, channels: 3 });
    expect(image.warnings).toEqual([`${L7} has 6 bands; tiles carry bands 1-3 as RGB only.`]);
    const tiff = await fromFile(L7);
    try {
      for (const b of [
        { x: 10, y: 20, width: 64, height: 48 },
        { x: 285, y: 288, width: 64, height: 64 },
      ]) {
        const bands = await (
          await tiff.getImage()
        ).readRasters({ window: [b.x, b.y, b.x + b.width, b.y + b.height], samples: [0, 1, 2], interleave: true });
        expect((await image.readWindow(b)).data.equals(Buffer.from(bands as Uint8Array))).toBe(true);
      }
    } finally {
      await tiff.close();
    }
  });

  it('reads band 1 of a 2-band image as grey', async () => {
    const data = Buffer.alloc(8 * 2 * 2);
    for (let i = 0; i < 16; i++) data.set([i * 10, 255 - i], i * 2);
    const image = await openImage(
      await write('two.tif', tinyTiff({ width: 8, height: 2, samples: 2, bits: 8, format: 1, data })),
    );
    expect(image).toMatchObject({ bands: 2, channels: 1 });
    expect(image.warnings).toContain(`${image.label} has 2 bands; tiles carry band 1 as grey only.`);
    const tile = await image.readWindow({ x: 0, y: 0, width: 8, height: 2 });
    expect([...tile.data]).toEqual(Array.from({ length: 16 }, (_, i) => i * 10));
  });

  it('refuses a window outside the image with REQUEST_INVALID', async () => {
    const image = await openImage(L7);
    expect((await failure(image.readWindow({ x: 300, y: 0, width: 50, height: 10 }))).code).toBe('REQUEST_INVALID');
    expect((await failure(image.readWindow({ x: 0.5, y: 0, width: 5, height: 10 }))).code).toBe('REQUEST_INVALID');
  });

  it('warns once when there is no georeferencing, for TIFF and PNG alike', async () => {
    const tif = (await writeGeoTiff(path.join(dir, 'plain.tif'), { ...grey, georef: { kind: 'none' } })).file;
    const png = path.join(dir, 'plain.png');
    await sharp(Buffer.from(renderPixels(rgb)), { raw: { width: 600, height: 400, channels: 3 } })
      .png()
      .toFile(png);
    for (const file of [tif, png]) {
      const image = await openImage(file, { label: 'my-image' });
      expect(image.georef).toBeUndefined();
      expect(image.warnings).toEqual(['my-image has no georeferencing; features keep pixel coordinates only.']);
    }
    const b = { x: 560, y: 370, width: 40, height: 30 };
    expect((await (await openImage(png)).readWindow(b)).data.equals(crop(renderPixels(rgb), 600, 3, b))).toBe(true);
    const jpeg = path.join(dir, 'plain.jpg');
    await sharp(png).jpeg().toFile(jpeg);
    expect(await openImage(jpeg)).toMatchObject({ width: 600, height: 400, channels: 3, georef: undefined });
  });
});

describe('non-8-bit images are scaled per band from their min..max', () => {
  const width = 40;
  const height = 30;
  const all = { x: 0, y: 0, width, height };

  it('16-bit grey', async () => {
    const data = Buffer.alloc(width * height * 2);
    // Every value 1000, 1002, ..., 3398 once, shuffled (7 and 1200 are coprime).
    const step = (i: number) => ((i * 7) % 1200) * 2;
    for (let i = 0; i < width * height; i++) data.writeUInt16LE(1000 + step(i), i * 2);
    const image = await openImage(await write('u16.tif', tinyTiff({ width, height, bits: 16, format: 1, data })));
    expect(image).toMatchObject({
      depth: 'ushort',
      bitsPerSample: 16,
      channels: 1,
      scaling: [{ min: 1000, max: 3398 }],
    });
    expect(image.warnings.some((w) => w.includes('scaled to 8 bits'))).toBe(true);
    const tile = await image.readWindow(all);
    const expected = Array.from({ length: width * height }, (_, i) => Math.round((step(i) * 255) / 2398));
    expect([...tile.data]).toEqual(expected);
  });

  it('16-bit RGB, each band with its own range', async () => {
    const data = Buffer.alloc(width * height * 6);
    for (let i = 0; i < width * height; i++)
      for (let c = 0; c < 3; c++) data.writeUInt16LE((c + 1) * 100 + (i % 11) * (c + 1), (i * 3 + c) * 2);
    const image = await openImage(
      await write('rgb16.tif', tinyTiff({ width, height, samples: 3, bits: 16, format: 1, data })),
    );
    expect(image.scaling).toEqual([
      { min: 100, max: 110 },
      { min: 200, max: 220 },
      { min: 300, max: 330 },
    ]);
    const tile = await image.readWindow({ x: 0, y: 0, width: 11, height: 1 });
    expect([...tile.data].filter((_, k) => k % 3 === 2)).toEqual(
      Array.from({ length: 11 }, (_, k) => Math.round((k * 255) / 10)),
    );
  });

  it('32-bit float, without truncating fractions, skipping NaN and GDAL_NODATA (which become 0)', async () => {
    const values = Array.from({ length: width * height }, (_, i) =>
      i === 0 ? NaN : i === 1 ? -9999 : 0.25 + (i % 5) * 0.125,
    );
    const data = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => data.writeFloatLE(v, i * 4));
    const file = await write('f32.tif', tinyTiff({ width, height, bits: 32, format: 3, data, noData: '-9999' }));
    const image = await openImage(file);
    expect(image).toMatchObject({ depth: 'float', scaling: [{ min: 0.25, max: 0.75 }] });
    const tile = await image.readWindow(all);
    expect([...tile.data.subarray(0, 7)]).toEqual([0, 0, 128, 191, 255, 0, 64]);
  });

  it('4-band 16-bit: bands 1-3, each scaled; band 4 dropped', async () => {
    const data = Buffer.alloc(width * height * 8);
    for (let i = 0; i < width * height; i++)
      for (let c = 0; c < 4; c++) data.writeUInt16LE(c * 1000 + (i % 256), (i * 4 + c) * 2);
    const image = await openImage(
      await write('u16x4.tif', tinyTiff({ width, height, samples: 4, bits: 16, format: 1, data })),
    );
    expect(image).toMatchObject({ bands: 4, channels: 3 });
    expect(image.scaling).toEqual([0, 1, 2].map((c) => ({ min: c * 1000, max: c * 1000 + 255 })));
    const tile = await image.readWindow({ x: 0, y: 0, width: 4, height: 1 });
    expect([...tile.data]).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
  });

  it.each([
    ['16-bit signed', 16, 2],
    ['complex', 64, 6],
  ] as const)('refuses %s samples with IMAGE_UNSUPPORTED', async (_, bits, format) => {
    const file = await write(
      's.tif',
      tinyTiff({ width, height, bits, format, data: Buffer.alloc((width * height * bits) / 8) }),
    );
    const { code, text } = await failure(openImage(file));
    expect(code).toBe('IMAGE_UNSUPPORTED');
    expect(text).toMatch(/gdal_translate -ot Byte -scale/);
  });
});

describe('bad images', () => {
  it.each([
    ['a missing file', async (dir: string) => path.join(dir, 'nope.tif'), /does not exist/],
    ['a directory', async (dir: string) => dir, /directory/],
    ['a zero-byte file', async (dir: string) => write0(dir, 'empty.tif', Buffer.alloc(0)), /empty/],
    ['random bytes', async (dir: string) => write0(dir, 'noise.bin', noise(4096, 7)), /not an image/],
    [
      'random bytes after a TIFF signature',
      async (dir: string) => write0(dir, 'noise.tif', Buffer.concat([Buffer.from('II*\0'), noise(4092, 9)])),
      /TIFF header/,
    ],
    [
      'a truncated L7_ETMs.tif (header kept, strips cut)',
      async (dir: string) => write0(dir, 'cut.tif', (await readFile(L7)).subarray(0, 400_000)),
      /truncated: its pixel data needs \d+ bytes, the file has 400000/,
    ],
    [
      'a truncated synthetic GeoTIFF (its IFD at the end cut off)',
      async (dir: string) => write0(dir, 'cut2.tif', half(encodeGeoTiff(rgb))),
      /TIFF header/,
    ],
    [
      'a header claiming 100000 x 100000 pixels in a tiny file',
      async (dir: string) =>
        write0(
          dir,
          'huge.tif',
          tinyTiff({
            width: 4,
            height: 4,
            bits: 8,
            format: 1,
            data: Buffer.alloc(16),
            declared: { width: 100_000, height: 100_000 },
          }),
        ),
      /truncated: its pixel data needs 10000000008 bytes, the file has \d+/,
    ],
  ])('%s → IMAGE_UNREADABLE', async (_, make, reason) => {
    const dir = await tempDir();
    const started = Date.now();
    const { code, text } = await failure(openImage(await make(dir), { label: 'the-label' }));
    expect(code).toBe('IMAGE_UNREADABLE');
    expect(text).toMatch(reason);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('names the image by its label', async () => {
    const error = await openImage('/no/such/file.tif', { label: 's3://bucket/key.tif' }).catch((e: unknown) => e);
    expect(isExtensionError(error, 'IMAGE_UNREADABLE') && error.params.image).toBe('s3://bucket/key.tif');
  });

  it('refuses zero size, a compressed 100000 x 100000 header and maxPixels with IMAGE_UNSUPPORTED', async () => {
    const tiny = { width: 4, height: 4, bits: 8, format: 1, data: Buffer.alloc(16) } as const;
    const zero = await write('zero.tif', tinyTiff({ ...tiny, declared: { width: 0, height: 4 } }));
    expect(await failure(openImage(zero))).toMatchObject({
      code: 'IMAGE_UNSUPPORTED',
      text: expect.stringMatching(/zero size/),
    });
    const huge = await write(
      'huge.tif',
      tinyTiff({ ...tiny, declared: { width: 100_000, height: 100_000, compression: 8 } }),
    );
    expect((await failure(openImage(huge))).code).toBe('IMAGE_UNSUPPORTED');
    expect(await failure(openImage(L7, { maxPixels: 100_000 }))).toMatchObject({
      code: 'IMAGE_UNSUPPORTED',
      text: expect.stringMatching(/349 x 352 = 122848 pixels, over the limit of 100000/),
    });
  });

  it('fails the window read, not the open, when compressed pixel data is corrupt', async () => {
    const bytes = encodeGeoTiff(grey);
    noise(64, 3).copy(bytes, 8 + 16); // inside the first DEFLATE strip
    const image: ImageSource = await openImage(await write('corrupt.tif', bytes));
    expect((await failure(image.readWindow({ x: 0, y: 0, width: 600, height: 400 }))).code).toBe('IMAGE_UNREADABLE');
  });
});

const half = (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2));

/** Deterministic pseudo-random bytes. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

async function write0(dir: string, name: string, bytes: Buffer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}
