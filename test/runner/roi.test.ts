import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGeolocator, type Geolocator } from '../../src/runner/geolocate.js';
import { readGeoref, type Georef } from '../../src/runner/georef.js';
import { parseRoi, roiPixelBounds } from '../../src/runner/roi.js';
import { isExtensionError } from '../../src/shared/errors.js';
import { writeGeoTiff, type WriteGeoTiffOptions } from '../helpers/geotiff.js';
import { fixture, tempDir } from '../helpers/index.js';

/** The REQUEST_INVALID problems `fn` throws (fails the test when it throws anything else). */
function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (isExtensionError(error, 'REQUEST_INVALID')) {
      expect(error.params.where).toBe('regionOfInterest');
      return error.params.problems;
    }
    throw error;
  }
  throw new Error('expected REQUEST_INVALID');
}

describe('parseRoi', () => {
  it('parses a POLYGON with a hole', () => {
    expect(parseRoi('POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 3 2, 3 3, 2 2))')).toEqual({
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
          [0, 0],
        ],
        [
          [2, 2],
          [3, 2],
          [3, 3],
          [2, 2],
        ],
      ],
    });
  });

  it('parses a MULTIPOLYGON, any case, signs, decimals and exponents', () => {
    expect(parseRoi(' multipolygon(((-1.5 2e1,+3 .5,4. -6E-1,-1.5 2e1)),((0 0,1 0,1 1,0 0))) ')).toEqual({
      type: 'MultiPolygon',
      coordinates: [
        [
          [
            [-1.5, 20],
            [3, 0.5],
            [4, -0.6],
            [-1.5, 20],
          ],
        ],
        [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      ],
    });
  });

  it('drops Z and M ordinates and accepts an EWKT SRID prefix', () => {
    const flat = {
      type: 'Polygon',
      coordinates: [
        [
          [1, 2],
          [3, 2],
          [3, 4],
          [1, 2],
        ],
      ],
    };
    expect(parseRoi('POLYGON Z ((1 2 9, 3 2 9, 3 4 9, 1 2 9))')).toEqual(flat);
    expect(parseRoi('POLYGON ZM ((1 2 9 8, 3 2 9 8, 3 4 9 8, 1 2 9 8))')).toEqual(flat);
    expect(parseRoi('SRID=4326;POLYGON((1 2,3 2,3 4,1 2))')).toEqual(flat);
  });

  it.each([
    ['', /empty string/],
    ['POINT (1 2)', /POLYGON or MULTIPOLYGON/],
    ['POLYGON EMPTY', /EMPTY/],
    ['POLYGON ((0 0, 1 0, 1 1, 0 0)', /expected "\)"/],
    ['POLYGON ((0 0, 1 0, 1 1, 0 0))) ', /unexpected "\)"/],
    ['POLYGON ((0 0, 1, 1 1, 0 0))', /2 to 4 numbers/],
    ['POLYGON ((0 0; 1 0, 1 1, 0 0))', /unexpected ";" at character 14/],
    ['MULTIPOLYGON ((0 0, 1 0, 1 1, 0 0))', /expected "\("/],
  ])('refuses %j', (wkt, message) => {
    const problems = problemsOf(() => parseRoi(wkt));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('lists every bad ring at once', () => {
    const problems = problemsOf(() => parseRoi('MULTIPOLYGON (((0 0, 1 0, 0 0)), ((0 0, 1 0, 1 1, 0 1)))'));
    expect(problems).toEqual([
      'the exterior ring of polygon 1 has 3 positions; a ring needs at least 4',
      'the exterior ring of polygon 2 is not closed',
    ]);
  });

  it('refuses a non-string', () => {
    expect(problemsOf(() => parseRoi(42 as unknown as string))[0]).toMatch(/WKT string/);
  });
});

describe('roiPixelBounds', () => {
  const northUp: Georef = {
    affine: [10, 1e-5, 0, 50.01, 0, -1e-5],
    crs: { proj4: '+proj=longlat +datum=WGS84 +no_defs', epsg: 4326 },
  };
  const image = { width: 1500, height: 1100 };
  const locator = createGeolocator(northUp);

  it('maps a lon/lat polygon to the pixel rectangle covering it', () => {
    const roi = parseRoi('POLYGON ((10.001 50.009, 10.002 50.009, 10.002 50.0095, 10.001 50.0095, 10.001 50.009))');
    expect(roiPixelBounds(roi, locator, image)).toEqual({ x: 100, y: 50, width: 100, height: 50 });
  });

  it('widens to whole pixels and covers every polygon of a MULTIPOLYGON', () => {
    const roi = parseRoi(
      'MULTIPOLYGON (((10.0010049 50.00905, 10.0011 50.00905, 10.0011 50.0091, 10.0010049 50.00905)),' +
        '((10.004 50.005, 10.00405 50.005, 10.00405 50.00505, 10.004 50.005)))',
    );
    // x from 100.49 (floor 100) to 405; y from 499.5 (ceil of the lowest) up to 90 (floor 90).
    expect(roiPixelBounds(roi, locator, image)).toEqual({ x: 100, y: 90, width: 305, height: 410 });
  });

  it('clips to the image', () => {
    const roi = parseRoi('POLYGON ((9 49, 11 49, 11 51, 9 51, 9 49))');
    expect(roiPixelBounds(roi, locator, image)).toEqual({ x: 0, y: 0, ...image });
  });

  it('refuses a region outside the image, and coordinates that are not degrees', () => {
    const outside = parseRoi('POLYGON ((20 10, 21 10, 21 11, 20 10))');
    expect(problemsOf(() => roiPixelBounds(outside, locator, image))[0]).toMatch(
      /does not overlap the 1500 x 1100 image/,
    );
    const pixels = parseRoi('POLYGON ((100 50, 300 50, 300 80, 100 50))');
    expect(problemsOf(() => roiPixelBounds(pixels, locator, image))[0]).toMatch(/not lon\/lat in degrees/);
  });

  it('without georeferencing reads the WKT as pixel coordinates', () => {
    const roi = parseRoi('POLYGON ((100 50, 300 50, 300 80.5, 100 80.5, 100 50))');
    expect(roiPixelBounds(roi, undefined, image)).toEqual({ x: 100, y: 50, width: 200, height: 31 });
    const outside = parseRoi('POLYGON ((1600 50, 1700 50, 1700 80, 1600 50))');
    expect(problemsOf(() => roiPixelBounds(outside, undefined, image))[0]).toMatch(/does not overlap/);
  });

  describe('on a rotated UTM image (GDAL oracle points)', () => {
    interface Entry {
      options: WriteGeoTiffOptions;
      points: { pixel: [number, number]; lonLat: [number, number] }[];
    }
    let rotated: Geolocator;
    let entry: Entry;
    beforeAll(async () => {
      const oracle = JSON.parse(await readFile(fixture('imagery/oracle.json'), 'utf8')) as {
        scenarios: Record<string, Entry>;
      };
      entry = oracle.scenarios['rotated-utm.tif'] as Entry;
      const { file } = await writeGeoTiff(path.join(await tempDir(), 'rotated-utm.tif'), entry.options);
      const georef = await readGeoref(file);
      if (!georef) throw new Error('no georef');
      rotated = createGeolocator(georef);
    });

    it('covers the pixels of the lon/lat vertices GDAL computed', () => {
      const at = (x: number, y: number) => entry.points.find((p) => p.pixel[0] === x && p.pixel[1] === y)?.lonLat ?? [];
      const ring = [at(10.5, 20.5), at(1108, 808), at(123.25, 77.75), at(10.5, 20.5)];
      const roi = parseRoi(`POLYGON ((${ring.map((p) => p.join(' ')).join(', ')}))`);
      expect(roiPixelBounds(roi, rotated, { width: 1500, height: 1100 })).toEqual({
        x: 10,
        y: 20,
        width: 1098,
        height: 788,
      });
    });
  });
});
