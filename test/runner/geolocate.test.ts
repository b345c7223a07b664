/**
 * Geolocation against an independent oracle: GDAL 3.6.2 / PROJ 9.1.1 `gdaltransform` answers stored
 * in test/fixtures/imagery/oracle.json for the two real files and five synthetic scenarios, rebuilt
 * here with the exact writeGeoTiff options recorded in the oracle.
 *
 * Measured (2026-12): worst lon/lat difference 4.9e-13 degrees (geomatrix.tif), worst pixel
 * difference 1.4e-8 px (rotated-utm.tif); the oracle prints 15 significant digits, so that is
 * its own precision. The assertions use the agreed tolerances, 1e-7 degrees and 1e-4 px.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGeolocator, geolocateFeature, type Geolocator } from '../../src/runner/geolocate.js';
import { readGeoref, type Georef } from '../../src/runner/georef.js';
import type { Feature, Position } from '../../src/shared/geojson.js';
import { writeGeoTiff, type WriteGeoTiffOptions } from '../helpers/geotiff.js';
import { ROOT, fixture, tempDir } from '../helpers/index.js';

interface OraclePoint {
  pixel: [number, number];
  lonLat: [number, number];
}
interface OracleEntry {
  path?: string;
  options?: WriteGeoTiffOptions;
  gdalinfo: { geoTransform: number[]; epsg: number; size: [number, number] };
  points: OraclePoint[];
}
interface Oracle {
  realFiles: Record<string, OracleEntry>;
  scenarios: Record<string, OracleEntry>;
}

const oracle = JSON.parse(await readFile(fixture('imagery/oracle.json'), 'utf8')) as Oracle;
const cases: [string, OracleEntry][] = [...Object.entries(oracle.realFiles), ...Object.entries(oracle.scenarios)];

/** The file an oracle entry describes: committed, or written now from its recorded options. */
async function fileFor(name: string, entry: OracleEntry): Promise<string> {
  if (entry.options) return (await writeGeoTiff(path.join(await tempDir(), name), entry.options)).file;
  return path.join(ROOT, entry.path ?? '');
}

async function locatorFor(name: string, entry: OracleEntry): Promise<{ georef: Georef; locator: Geolocator }> {
  const georef = await readGeoref(await fileFor(name, entry));
  if (!georef) throw new Error(`${name} has no georef`);
  return { georef, locator: createGeolocator(georef) };
}

describe.each(cases)('%s against GDAL', (name, entry) => {
  let georef: Georef;
  let locator: Geolocator;
  beforeAll(async () => {
    ({ georef, locator } = await locatorFor(name, entry));
  });

  it('reads the geotransform and EPSG code gdalinfo reports', () => {
    georef.affine.forEach((v, i) => expect(v).toBeCloseTo(entry.gdalinfo.geoTransform[i] ?? NaN, 6));
    expect(georef.crs.epsg).toBe(entry.gdalinfo.epsg);
  });

  it(`toLonLat matches all ${entry.points.length} GDAL points within 1e-7 degrees (measured ≤ 5e-13)`, () => {
    for (const { pixel, lonLat } of entry.points) {
      const [lon, lat] = locator.toLonLat(pixel[0], pixel[1]);
      expect(Math.abs(lon - lonLat[0]), `lon of ${pixel.join(',')}`).toBeLessThan(1e-7);
      expect(Math.abs(lat - lonLat[1]), `lat of ${pixel.join(',')}`).toBeLessThan(1e-7);
    }
  });

  it(`toPixel inverts all ${entry.points.length} GDAL points within 1e-4 px (measured ≤ 2e-8)`, () => {
    for (const { pixel, lonLat } of entry.points) {
      const [x, y] = locator.toPixel(lonLat[0], lonLat[1]);
      expect(Math.abs(x - pixel[0]), `x of ${pixel.join(',')}`).toBeLessThan(1e-4);
      expect(Math.abs(y - pixel[1]), `y of ${pixel.join(',')}`).toBeLessThan(1e-4);
    }
  });
});

describe('geolocateFeature', () => {
  const rotated = oracle.scenarios['rotated-utm.tif'] as OracleEntry;
  const [W, H] = rotated.gdalinfo.size;
  /** GDAL's lon/lat of an oracle pixel. */
  const gdal = (x: number, y: number): [number, number] => {
    const hit = rotated.points.find((p) => p.pixel[0] === x && p.pixel[1] === y);
    if (!hit) throw new Error(`no oracle point ${x},${y}`);
    return hit.lonLat;
  };
  const expectNear = (actual: readonly number[], expected: readonly number[]) => {
    expect(actual).toHaveLength(2);
    expect(Math.abs((actual[0] ?? NaN) - (expected[0] ?? NaN))).toBeLessThan(1e-7);
    expect(Math.abs((actual[1] ?? NaN) - (expected[1] ?? NaN))).toBeLessThan(1e-7);
  };
  let locator: Geolocator;
  beforeAll(async () => {
    ({ locator } = await locatorFor('rotated-utm.tif', rotated));
  });

  it('maps a Polygon imageGeometry, the 4-corner bbox and the centre of a rotated image', () => {
    const ring: Position[] = [
      [0, 0],
      [W, 0],
      [W, H],
      [0, H],
      [0, 0],
    ];
    const input: Feature = {
      type: 'Feature',
      id: 'f1',
      geometry: null,
      properties: { imageGeometry: { type: 'Polygon', coordinates: [ring] }, imageBBox: [0, 0, W, H], keep: 1 },
    };
    const out = geolocateFeature(input, locator);

    expect(out.geometry?.type).toBe('Polygon');
    const mapped = out.geometry?.type === 'Polygon' ? (out.geometry.coordinates[0] ?? []) : [];
    ring.forEach((p, i) => expectNear(mapped[i] ?? [], gdal(p[0], p[1])));
    // Rotated by 15°: the bbox must come from all four corners, not from the min/max corners.
    const corners = [gdal(0, 0), gdal(W, 0), gdal(W, H), gdal(0, H)];
    const expected = [
      Math.min(...corners.map((c) => c[0])),
      Math.min(...corners.map((c) => c[1])),
      Math.max(...corners.map((c) => c[0])),
      Math.max(...corners.map((c) => c[1])),
    ];
    expect(out.bbox).toHaveLength(4);
    out.bbox?.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? NaN))).toBeLessThan(1e-7));
    expectNear(
      [out.properties?.['center_longitude'] as number, out.properties?.['center_latitude'] as number],
      gdal(W / 2, H / 2),
    );
    expect(out.properties?.['keep']).toBe(1);
    expect(out.id).toBe('f1');
    expect(input.geometry).toBeNull();
    expect(input.properties).not.toHaveProperty('center_longitude');
  });

  it('maps every geometry type recursively and drops extra ordinates', () => {
    const p = (x: number, y: number): Position => [x, y, 7];
    const imageGeometry = {
      type: 'GeometryCollection',
      geometries: [
        { type: 'Point', coordinates: p(0, 0) },
        { type: 'MultiPoint', coordinates: [p(W, 0)] },
        { type: 'LineString', coordinates: [p(0, H), p(W, H)] },
        { type: 'MultiLineString', coordinates: [[p(W / 2, H / 2)]] },
        { type: 'MultiPolygon', coordinates: [[[p(0, 0), p(W, 0), p(W, H), p(0, 0)]]] },
      ],
    };
    const out = geolocateFeature({ type: 'Feature', geometry: null, properties: { imageGeometry } }, locator);
    if (out.geometry?.type !== 'GeometryCollection') throw new Error('expected a GeometryCollection');
    expect(out.geometry.geometries.map((g) => g.type)).toEqual(imageGeometry.geometries.map((g) => g.type));
    // Same structure as the input, every position replaced by GDAL's [lon, lat] (the 7 dropped).
    const mapped = out.geometry.geometries.map((g) => (g as { coordinates: unknown }).coordinates);
    const expected = [
      gdal(0, 0),
      [gdal(W, 0)],
      [gdal(0, H), gdal(W, H)],
      [[gdal(W / 2, H / 2)]],
      [[[gdal(0, 0), gdal(W, 0), gdal(W, H), gdal(0, 0)]]],
    ];
    const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
    expect(JSON.stringify(mapped).replace(/[\d.eE+-]+/g, '0')).toBe(
      JSON.stringify(expected).replace(/[\d.eE+-]+/g, '0'),
    );
    flat(mapped).forEach((v, i) => expect(Math.abs(v - (flat(expected)[i] ?? NaN))).toBeLessThan(1e-7));
    // No imageBBox: no bbox, and the centre is the centre of the geometry's pixel extent.
    expect(out.bbox).toBeUndefined();
    expectNear(
      [out.properties?.['center_longitude'] as number, out.properties?.['center_latitude'] as number],
      gdal(W / 2, H / 2),
    );
  });

  it('with only an imageBBox, keeps the model geometry and fills bbox and centre', () => {
    const geometry = { type: 'Point' as const, coordinates: [1, 2] as Position };
    const out = geolocateFeature({ type: 'Feature', geometry, properties: { imageBBox: [0, 0, W, H] } }, locator);
    expect(out.geometry).toBe(geometry);
    expect(out.bbox).toHaveLength(4);
    expect(out.properties?.['center_latitude']).toBeCloseTo(gdal(W / 2, H / 2)[1], 9);
  });

  it('returns an unchanged copy of a feature without image coordinates', () => {
    const input: Feature = { type: 'Feature', geometry: null, properties: null };
    const out = geolocateFeature(input, locator);
    expect(out).toEqual({ type: 'Feature', geometry: null, properties: {} });
    expect(out).not.toBe(input);
  });
});

describe('geolocateFeature: what a model sends is checked, never guessed at', () => {
  /** A plain linear locator: the point here is which values are mapped, not the projection. */
  const linear: Geolocator = {
    toLonLat: (x, y) => [x / 10, y / 10 + 50],
    toPixel: (lon, lat) => [lon * 10, (lat - 50) * 10],
  };
  const MODEL_GEOMETRY = { type: 'Point' as const, coordinates: [9, 9] as Position };
  const locate = (properties: Record<string, unknown>) =>
    geolocateFeature({ type: 'Feature', geometry: MODEL_GEOMETRY, properties }, linear);

  it.each([
    ['Point', [10, 20], [1, 52]],
    ['MultiPoint', [[10, 20]], [[1, 52]]],
    ['LineString', [[10, 20]], [[1, 52]]],
    ['MultiLineString', [[[10, 20]]], [[[1, 52]]]],
    ['Polygon', [[[10, 20]]], [[[1, 52]]]],
    ['MultiPolygon', [[[[10, 20]]]], [[[[1, 52]]]]],
  ])('maps a top-level %s imageGeometry, and centres on it', (type, coordinates, mapped) => {
    const out = locate({ imageGeometry: { type, coordinates } });
    expect(out.geometry).toEqual({ type, coordinates: mapped });
    expect(out.properties).toMatchObject({ center_longitude: 1, center_latitude: 52 });
  });

  it.each([
    ['null', null],
    ['a string', 'Point'],
    ['an unknown type', { type: 'Circle', coordinates: [10, 20] }],
    ['a type that is not a string', { type: 7, coordinates: [10, 20] }],
    ['no coordinates', { type: 'Point' }],
    ['coordinates that are not an array', { type: 'Point', coordinates: '10,20' }],
    ['a GeometryCollection without geometries', { type: 'GeometryCollection' }],
  ])('leaves the model geometry as it was for an imageGeometry that is %s', (_label, imageGeometry) => {
    const out = locate({ imageGeometry });
    expect(out.geometry).toBe(MODEL_GEOMETRY);
    expect(out.properties).not.toHaveProperty('center_longitude');
  });

  it('gives no centre for an imageGeometry whose position is not a number pair (NaN from an in-process model)', () => {
    const out = locate({ imageGeometry: { type: 'Point', coordinates: [5, Number.NaN] } });
    expect(out.properties).not.toHaveProperty('center_longitude');
    expect(out.properties).not.toHaveProperty('center_latitude');
  });

  it.each([
    ['three numbers', [0, 0, 10]],
    ['five numbers', [0, 0, 10, 10, 10]],
    ['a string among them', [0, 0, '10', 10]],
    ['an infinite one', [0, 0, Number.POSITIVE_INFINITY, 10]],
    ['only one number', [0, 'a', 'b', 'c']],
    ['an object', { minX: 0 }],
  ])('ignores an imageBBox of %s: no bbox, no centre', (_label, imageBBox) => {
    const out = locate({ imageBBox });
    expect(out.bbox).toBeUndefined();
    expect(out.properties).not.toHaveProperty('center_longitude');
  });

  it('uses a good imageBBox: bbox from its corners, centre at its middle', () => {
    const out = locate({ imageBBox: [0, 0, 10, 20] });
    expect(out.bbox).toEqual([0, 50, 1, 52]);
    expect(out.properties).toMatchObject({ center_longitude: 0.5, center_latitude: 51 });
  });
});
