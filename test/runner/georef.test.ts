import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readGeoref } from '../../src/runner/georef.js';
import { isExtensionError } from '../../src/shared/errors.js';
import { encodeGeoTiff, writeGeoTiff, type GeoRef } from '../helpers/geotiff.js';
import { fixture, tempDir } from '../helpers/index.js';

const small = (georef: GeoRef, pixelIsPoint = false) => ({ width: 8, height: 6, georef, pixelIsPoint });
const utmTiepoint: GeoRef = {
  kind: 'tiepoint',
  tiepoint: [0, 0, 0, 500000, 4000000, 0],
  pixelScale: [2, 2, 0],
  epsg: 32633,
};

async function georefOf(georef: GeoRef, pixelIsPoint = false) {
  const { file } = await writeGeoTiff(path.join(await tempDir(), 'g.tif'), small(georef, pixelIsPoint));
  return readGeoref(file);
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isExtensionError(error) ? error.code : `not an ExtensionError: ${String(error)}`;
}

describe('readGeoref', () => {
  it('returns undefined for a TIFF without georeferencing tags', async () => {
    expect(await georefOf({ kind: 'none' })).toBeUndefined();
  });

  it('reads the CRS of a real file: EPSG code, citation and a proj4 definition', async () => {
    const georef = await readGeoref(fixture('imagery/L7_ETMs.tif'));
    expect(georef?.crs).toMatchObject({ epsg: 31985, name: 'SIRGAS 2000 / UTM zone 25S' });
    expect(georef?.crs.proj4).toMatch(/\+proj=tmerc .*\+lon_0=-33 /);
  });

  it('keeps GeoTIFF lon/lat order for EPSG:4326 (no +axis=ne from the EPSG definition)', async () => {
    const georef = await georefOf({
      kind: 'tiepoint',
      tiepoint: [0, 0, 0, 10, 50, 0],
      pixelScale: [1e-5, 1e-5, 0],
      epsg: 4326,
    });
    expect(georef?.crs.epsg).toBe(4326);
    expect(georef?.crs.proj4).toMatch(/^\+proj=longlat /);
    expect(georef?.crs.proj4).not.toMatch(/axis/);
  });

  it('moves a RasterPixelIsPoint origin half a pixel up-left, like GDAL', async () => {
    expect((await georefOf(utmTiepoint, false))?.affine).toEqual([500000, 2, 0, 4000000, 0, -2]);
    expect((await georefOf(utmTiepoint, true))?.affine).toEqual([499999, 2, 0, 4000001, 0, -2]);
  });

  it('keeps the rotation terms of a ModelTransformation', async () => {
    const matrix = [0.5, 0.25, 0, 1000, 0.25, -0.5, 0, 2000, 0, 0, 0, 0, 0, 0, 0, 1];
    expect((await georefOf({ kind: 'transformation', matrix, epsg: 32633 }))?.affine).toEqual([
      1000, 0.5, 0.25, 2000, 0.25, -0.5,
    ]);
  });

  it('refuses ground control points without a pixel scale (IMAGE_UNSUPPORTED)', async () => {
    const bytes = encodeGeoTiff(small(utmTiepoint));
    // Rename ModelPixelScale (33550, DOUBLE, 3 values) to an unknown tag: only the tiepoint is left.
    const entry = Buffer.from([0x0e, 0x83, 0x0c, 0x00, 0x03, 0x00, 0x00, 0x00]);
    const at = bytes.indexOf(entry);
    expect(at).toBeGreaterThan(0);
    bytes.writeUInt16LE(33549, at);
    const file = path.join(await tempDir(), 'gcp.tif');
    await writeFile(file, bytes);
    expect(await codeOf(readGeoref(file))).toBe('IMAGE_UNSUPPORTED');
  });

  it('refuses a CRS the converter does not know (IMAGE_UNSUPPORTED)', async () => {
    expect(await codeOf(georefOf({ ...utmTiepoint, epsg: 65000 }))).toBe('IMAGE_UNSUPPORTED');
  });

  it('refuses a file that is not a TIFF (IMAGE_UNREADABLE)', async () => {
    const file = path.join(await tempDir(), 'x.png');
    await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .png()
      .toFile(file);
    expect(await codeOf(readGeoref(file))).toBe('IMAGE_UNREADABLE');
  });

  it('closes the file it opens', async () => {
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const file = fixture('imagery/L7_ETMs.tif');
    await readGeoref(file);
    const before = await fds();
    for (let i = 0; i < 20; i++) await readGeoref(file);
    expect(await fds()).toBe(before);
  });
});
