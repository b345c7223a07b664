/**
 * runImage end to end: GeoTIFFs written by the test (bright squares at known pixels, some on tile
 * and region seams), the example model over HTTP, and every feature checked against GDAL's answer
 * for the same pixel (test/fixtures/imagery/oracle.json, with the commands that produced it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer } from '../../examples/model-server/server.mjs';
import { runImage, type RunImageOptions } from '../../src/host/run.js';
import type { Feature, FeatureCollection } from '../../src/shared/geojson.js';
import { isExtensionError } from '../../src/shared/errors.js';
import { tinyTiff, writeGeoTiff, type WriteGeoTiffOptions } from '../helpers/geotiff.js';
import { fixture, recordingLogger, tempDir } from '../helpers/index.js';

interface OraclePoint {
  pixel: [number, number];
  lonLat: [number, number];
}
interface Scenario {
  options: WriteGeoTiffOptions;
  squareCentres: [number, number][];
  points: OraclePoint[];
}
const oracle = JSON.parse(readFileSync(path.join(fixture('imagery'), 'oracle.json'), 'utf8')) as {
  scenarios: Record<string, Scenario>;
  realFiles: Record<string, { points: OraclePoint[] }>;
};

let model: Awaited<ReturnType<typeof startModelServer>>;
beforeAll(async () => {
  model = await startModelServer({ mode: 'blobs' });
});
afterAll(async () => {
  await model.close();
});

/** Boot options for a project with no plugins of its own: the built-in http pair. */
const quiet = async (): Promise<RunImageOptions> => ({ cwd: await tempDir(), logger: recordingLogger() });

async function run(image: string, options: Record<string, unknown> = {}, extra: RunImageOptions = {}) {
  const out = path.join(path.dirname(image), 'out.geojson');
  const summary = await runImage(
    { image, options: { endpoint: model.invocationsUrl, out, ...options } },
    { ...(await quiet()), ...extra },
  );
  const written = existsSync(out) ? (JSON.parse(await readFile(out, 'utf8')) as FeatureCollection) : undefined;
  return { summary, written };
}

const centre = (f: Feature): [number, number] => {
  const [minX, minY, maxX, maxY] = f.properties?.['imageBBox'] as number[];
  return [(minX! + maxX!) / 2, (minY! + maxY!) / 2];
};

describe.each(['north-up-4326.tif', 'rotated-utm.tif', 'projected-utm.tif'])('runImage on %s', (name) => {
  const scenario = oracle.scenarios[name]!;

  it("finds each planted square once, at GDAL's lon/lat for its centre (within a pixel)", async () => {
    const file = path.join(await tempDir(), name);
    await writeGeoTiff(file, scenario.options);
    // Small tiles and regions so that seams run everywhere.
    const { summary, written } = await run(file, { tileSize: 256, tileOverlap: 48, regionSize: 600 });
    expect(summary.status).toBe('SUCCESS');
    expect(summary.failedTiles).toEqual([]);
    expect(written?.features).toHaveLength(scenario.squareCentres.length);

    const features = [...written!.features].sort((a, b) => centre(a)[1] - centre(b)[1]);
    const expected = [...scenario.squareCentres].sort((a, b) => a[1] - b[1]);
    const pixelDegrees = Math.hypot(...lonLatStep(scenario.points));
    features.forEach((feature, i) => {
      expect(centre(feature)).toEqual(expected[i]);
      const gdal = scenario.points.find((p) => p.pixel[0] === expected[i]![0] && p.pixel[1] === expected[i]![1])!;
      const lon = feature.properties?.['center_longitude'] as number;
      const lat = feature.properties?.['center_latitude'] as number;
      expect(Math.hypot(lon - gdal.lonLat[0], lat - gdal.lonLat[1])).toBeLessThan(pixelDegrees);
      expect(feature.geometry?.type).toBe('Polygon');
      expect(feature.bbox).toHaveLength(4);
      expect(feature.properties?.['inferenceMetadata']).toMatchObject({ jobId: summary.jobId });
    });
  });
});

/** Degrees spanned by one pixel near the image origin, from two oracle points. */
function lonLatStep(points: OraclePoint[]): [number, number] {
  const a = points.find((p) => p.pixel[0] === 0 && p.pixel[1] === 0)!;
  const b = points.find((p) => p.pixel[0] === 0.5 && p.pixel[1] === 0.5)!;
  return [Math.abs(b.lonLat[0] - a.lonLat[0]) * 2, Math.abs(b.lonLat[1] - a.lonLat[1]) * 2];
}

describe('runImage: seams', () => {
  const squares = [
    { x: 200, y: 40, size: 20, value: 255 }, // inside the overlap of the first two tile columns
    { x: 226, y: 226, size: 12, value: 255 }, // on a tile corner: four tiles see it
    { x: 590, y: 300, size: 16, value: 255 }, // across the seam of two regions
  ];
  const image: WriteGeoTiffOptions = {
    width: 1000,
    height: 600,
    bands: 1,
    squares,
    georef: { kind: 'tiepoint', tiepoint: [0, 0, 0, 500000, 4650000, 0], pixelScale: [1, 1, 0], epsg: 32633 },
  };

  it('reports each object once however many tiles and regions saw it; without NMS they are repeated', async () => {
    const file = path.join(await tempDir(), 'seams.tif');
    await writeGeoTiff(file, image);
    const sizes = { tileSize: 256, tileOverlap: 40, regionSize: 472 };
    const { written } = await run(file, sizes);
    expect(written?.features.map(centre).sort((a, b) => a[0] - b[0])).toEqual(
      squares.map((s) => [s.x + s.size / 2, s.y + s.size / 2]),
    );
    const raw = await run(file, { ...sizes, postProcessing: 'NONE' });
    expect(raw.written!.features.length).toBeGreaterThan(squares.length + 3);
  });
});

describe('runImage: outcomes', () => {
  const small: WriteGeoTiffOptions = {
    width: 600,
    height: 300,
    bands: 3,
    squares: [{ x: 100, y: 100, size: 10, value: 255 }],
    georef: { kind: 'none' },
  };

  it('runs an image without georeferencing: pixel features, one warning', async () => {
    const file = path.join(await tempDir(), 'plain.tif');
    await writeGeoTiff(file, small);
    const logger = recordingLogger();
    const { summary, written } = await run(file, { tileSize: 256, tileOverlap: 16 }, { logger });
    expect(summary.status).toBe('SUCCESS');
    expect(written?.features.map((f) => f.properties?.['imageBBox'])).toEqual([[100, 100, 110, 110]]);
    expect(written?.features[0]?.geometry).toBeNull();
    expect(logger.lines.filter((l) => l.level === 'warn' && l.obj['event'] === 'run.warning')).toHaveLength(1);
  });

  it('is PARTIAL when some tiles fail for good, naming them, and writes the rest', async () => {
    const file = path.join(await tempDir(), 'partial.tif');
    await writeGeoTiff(file, small);
    let calls = 0;
    const modelInvoker = {
      invoke: async (tile: { bounds: { x: number } }) => {
        calls++;
        if (tile.bounds.x !== 0) throw new Error('model crashed');
        return { type: 'FeatureCollection' as const, features: [] };
      },
    };
    const { summary, written } = await run(file, { tileSize: 256, tileOverlap: 16 }, { deps: { modelInvoker } });
    // Columns at x = 0, 240 and 344, rows at y = 0 and 44: six tiles, four of them failing.
    expect(calls).toBe(6);
    expect(summary.status).toBe('PARTIAL');
    expect(summary.failedTiles).toHaveLength(4);
    expect(summary.failedTiles.map((f) => f.tile)).toEqual(
      expect.arrayContaining([expect.stringContaining('x=240'), expect.stringContaining('x=344')]),
    );
    expect(written?.type).toBe('FeatureCollection');
  });

  it.each(['error500', 'not-json', 'wrong-shape'] as const)(
    'is FAILED, writing nothing, when the model always answers %s',
    async (fault) => {
      const bad = await startModelServer({ fault });
      try {
        const file = path.join(await tempDir(), 'f.tif');
        await writeGeoTiff(file, small);
        const out = path.join(path.dirname(file), 'out.geojson');
        const summary = await runImage(
          { image: file, options: { endpoint: bad.invocationsUrl, out, tileSize: 256, tileOverlap: 16 } },
          {
            ...(await quiet()),
            deps: {
              modelInvoker: new (await import('../../src/services/http-model.js')).HttpModelInvoker({
                retries: 1,
                backoffMs: 1,
              }),
            },
          },
        );
        expect(summary.status).toBe('FAILED');
        expect(summary.failedTiles[0]?.code).toBe(fault === 'error500' ? 'MODEL_FAILED' : 'MODEL_OUTPUT_INVALID');
        expect(existsSync(out)).toBe(false);
      } finally {
        await bad.close();
      }
    },
  );

  it('cuts off a model that hangs, per tile, and finishes', async () => {
    const hang = await startModelServer({ fault: 'hang' });
    try {
      const file = path.join(await tempDir(), 'h.tif');
      await writeGeoTiff(file, { ...small, width: 200, height: 200 });
      const { HttpModelInvoker } = await import('../../src/services/http-model.js');
      const summary = await runImage(
        { image: file, options: { endpoint: hang.invocationsUrl, out: '-', tileSize: 256, tileOverlap: 16 } },
        { ...(await quiet()), deps: { modelInvoker: new HttpModelInvoker({ timeoutMs: 200, retries: 0 }) } },
      );
      expect(summary.status).toBe('FAILED');
      expect(summary.failedTiles[0]?.message).toContain('200 ms');
    } finally {
      await hang.close();
    }
  });
});

describe('runImage: what cannot start', () => {
  async function refused(image: string): Promise<string> {
    try {
      await runImage(
        { image, options: { endpoint: model.invocationsUrl, out: path.join(path.dirname(image), 'out.geojson') } },
        await quiet(),
      );
    } catch (error) {
      if (isExtensionError(error)) {
        expect(error.message).toContain(path.basename(image));
        expect(await readdir(path.dirname(image))).not.toContain('out.geojson');
        return error.code;
      }
      throw error;
    }
    throw new Error('expected the run to be refused');
  }

  it('refuses a truncated image, a file that is not an image, an empty file and a 100k x 100k header', async () => {
    const dir = await tempDir();
    const good = path.join(dir, 'good.tif');
    await writeGeoTiff(good, { width: 300, height: 300, bands: 1, georef: { kind: 'none' }, compression: 'none' });
    const bytes = await readFile(good);
    await writeFile(path.join(dir, 'truncated.tif'), bytes.subarray(0, bytes.length >> 1));
    await writeFile(path.join(dir, 'text.tif'), 'this is not an image\n');
    await writeFile(path.join(dir, 'empty.tif'), '');
    const tiny = { width: 2, height: 2, bits: 8, format: 1 as const, data: Buffer.alloc(4) };
    await writeFile(path.join(dir, 'huge.tif'), tinyTiff({ ...tiny, declared: { width: 100_000, height: 100_000 } }));
    expect(await refused(path.join(dir, 'truncated.tif'))).toBe('IMAGE_UNREADABLE');
    expect(await refused(path.join(dir, 'text.tif'))).toBe('IMAGE_UNREADABLE');
    expect(await refused(path.join(dir, 'empty.tif'))).toBe('IMAGE_UNREADABLE');
    expect(await refused(path.join(dir, 'missing.tif'))).toBe('IMAGE_UNREADABLE');
    expect(await refused(path.join(dir, 'huge.tif'))).toBe('IMAGE_UNREADABLE');
  });

  it('refuses a bad request before reading anything, listing every bad field', async () => {
    const error = await runImage(
      { request: { imageUrls: [], imageProcessor: { name: 'm' }, imageProcessorTileSize: 0 } },
      await quiet(),
    ).catch((e: unknown) => e);
    expect(isExtensionError(error, 'REQUEST_INVALID')).toBe(true);
    expect((error as Error).message).toContain('imageUrls');
    expect((error as Error).message).toContain('imageProcessorTileSize');
  });
});

describe('runImage: an OSML ImageRequest', () => {
  it("downloads an http(s) image to a temp file, uses the request's tiling and properties, and removes the copy", async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'remote.tif');
    await writeGeoTiff(file, {
      width: 300,
      height: 200,
      bands: 1,
      squares: [{ x: 50, y: 60, size: 8, value: 255 }],
      georef: { kind: 'none' },
    });
    const server = createServer((req, res) => res.end(readFileSync(file)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/images/remote.tif`;
    try {
      const out = path.join(dir, 'out.geojson');
      const summary = await runImage(
        {
          request: {
            jobId: 'job-42',
            imageUrls: [url],
            imageProcessor: { name: model.invocationsUrl, type: 'HTTP_ENDPOINT' },
            imageProcessorTileSize: 128,
            imageProcessorTileOverlap: 16,
            imageProcessorTileFormat: 'JPEG',
            featureProperties: [{ source: 'test' }],
          },
          options: { out },
        },
        await quiet(),
      );
      expect(summary).toMatchObject({ status: 'SUCCESS', jobId: 'job-42', requestType: 'http', features: 1 });
      const fc = JSON.parse(await readFile(out, 'utf8')) as FeatureCollection;
      expect(fc.features[0]?.properties).toMatchObject({ source: 'test', inferenceMetadata: { jobId: 'job-42' } });
    } finally {
      server.close();
    }
  });
});

describe('runImage: real imagery', () => {
  it('runs L7_ETMs.tif (6 bands, SIRGAS 2000 / UTM 25S): the centre box lands where GDAL puts that pixel', async () => {
    const dir = await tempDir();
    const center = await startModelServer({ mode: 'center' });
    try {
      const out = path.join(dir, 'l7.geojson');
      const summary = await runImage(
        { image: path.join(fixture('imagery'), 'L7_ETMs.tif'), options: { endpoint: center.invocationsUrl, out } },
        await quiet(),
      );
      expect(summary).toMatchObject({ status: 'SUCCESS', tiles: 1, features: 1 });
      const [feature] = (JSON.parse(await readFile(out, 'utf8')) as FeatureCollection).features;
      expect(centre(feature!)).toEqual([174.5, 176]);
      const gdal = oracle.realFiles['L7_ETMs.tif']!.points.find((p) => p.pixel[0] === 174.5 && p.pixel[1] === 176)!;
      const lon = feature!.properties?.['center_longitude'] as number;
      const lat = feature!.properties?.['center_latitude'] as number;
      expect(Math.abs(lon - gdal.lonLat[0])).toBeLessThan(1e-7);
      expect(Math.abs(lat - gdal.lonLat[1])).toBeLessThan(1e-7);
    } finally {
      await center.close();
    }
  });
});
