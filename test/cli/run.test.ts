/**
 * `osml-extensions run` as a user runs it: the built CLI in a subprocess, a GeoTIFF made here, the
 * example model on an ephemeral port.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer } from '../../examples/model-server/server.mjs';
import type { FeatureCollection } from '../../src/shared/geojson.js';
import { writeGeoTiff } from '../helpers/geotiff.js';
import { runCli, tempDir } from '../helpers/index.js';

let model: Awaited<ReturnType<typeof startModelServer>>;
beforeAll(async () => {
  model = await startModelServer({ mode: 'blobs' });
});
afterAll(async () => {
  await model.close();
});

/** A project folder holding `scene.tif`: 600 x 400, two bright squares, UTM 33N. */
async function project(): Promise<string> {
  const dir = await tempDir();
  await writeGeoTiff(path.join(dir, 'scene.tif'), {
    width: 600,
    height: 400,
    bands: 3,
    squares: [
      { x: 100, y: 100, size: 12, value: 255 },
      { x: 400, y: 300, size: 12, value: 255 },
    ],
    georef: { kind: 'tiepoint', tiepoint: [0, 0, 0, 500000, 4650000, 0], pixelScale: [1, 1, 0], epsg: 32633 },
  });
  return dir;
}

describe('osml-extensions run', () => {
  it('--json prints one summary document and writes the FeatureCollection to --out (exit 0)', async () => {
    const cwd = await project();
    const args = [
      'run',
      'scene.tif',
      '--endpoint',
      model.invocationsUrl,
      '--out',
      'found.geojson',
      '--tile-size',
      '256',
    ];
    const result = await runCli([...args, '--feature-property', 'mission=test', '--json'], { cwd });
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'SUCCESS', failedTiles: [], features: 2, out: 'found.geojson' });
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining(['status', 'tiles', 'failedTiles', 'features', 'out', 'durationMs']),
    );
    const fc = JSON.parse(await readFile(path.join(cwd, 'found.geojson'), 'utf8')) as FeatureCollection;
    expect(fc.features.map((f) => f.properties?.['mission'])).toEqual(['test', 'test']);
    expect(fc.features.every((f) => f.geometry?.type === 'Polygon' && f.bbox?.length === 4)).toBe(true);
  });

  it('--out - streams the FeatureCollection to stdout; logs stay on stderr', async () => {
    const cwd = await project();
    const result = await runCli(['run', 'scene.tif', '--endpoint', model.invocationsUrl, '--out', '-'], { cwd });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as FeatureCollection).features).toHaveLength(2);
    expect(result.stderr).toContain('run.done');
  });

  it('defaults --out to <image name>.geojson and prints a one-line summary', async () => {
    const cwd = await project();
    const result = await runCli(['run', 'scene.tif', '--endpoint', model.invocationsUrl, '--log-level', 'silent'], {
      cwd,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^SUCCESS: 2 features from \d+ tiles in \d+ ms -> scene\.geojson\n$/);
    expect(existsSync(path.join(cwd, 'scene.geojson'))).toBe(true);
  });

  it('accepts an OSML ImageRequest with --request; flags beat its fields', async () => {
    const cwd = await project();
    const request = {
      jobId: 'job-7',
      imageUrls: ['scene.tif'],
      imageProcessor: { name: 'http://127.0.0.1:9/never-used', type: 'HTTP_ENDPOINT' },
      imageProcessorTileSize: 300,
      imageProcessorTileOverlap: 20,
    };
    await writeFile(path.join(cwd, 'request.json'), JSON.stringify(request));
    const args = [
      'run',
      '--request',
      'request.json',
      '--endpoint',
      model.invocationsUrl,
      '--out',
      'o.geojson',
      '--json',
    ];
    const result = await runCli(args, { cwd });
    // Tiles of 300 overlapping by at least 20: columns at 0, 280 and 300, rows at 0 and 100.
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'SUCCESS', jobId: 'job-7', tiles: 6, features: 2 });
  });

  it('exits 1 with the error document and writes nothing when the run cannot start', async () => {
    const cwd = await project();
    await writeFile(path.join(cwd, 'broken.tif'), 'not a tiff');
    const result = await runCli(
      ['run', 'broken.tif', '--endpoint', model.invocationsUrl, '--out', 'x.geojson', '--json'],
      { cwd },
    );
    expect(result.code).toBe(1);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('IMAGE_UNREADABLE');
    expect(error.message).toContain('broken.tif');
    expect(existsSync(path.join(cwd, 'x.geojson'))).toBe(false);
  });

  it('exits 1 with REQUEST_INVALID naming every bad field of a request file', async () => {
    const cwd = await project();
    await writeFile(path.join(cwd, 'bad.json'), JSON.stringify({ imageUrls: 'scene.tif', imageProcesor: {} }));
    const result = await runCli(['run', '--request', 'bad.json', '--json'], { cwd });
    expect(result.code).toBe(1);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('REQUEST_INVALID');
    expect(error.message).toContain('bad.json');
    expect(error.message).toContain('imageUrls');
    expect(error.message).toContain('did you mean "imageProcessor"');
  });

  it('exits 1 with a PARTIAL or FAILED summary when the model fails tiles', async () => {
    const cwd = await project();
    const failing = await startModelServer({ fault: 'error500' });
    try {
      const args = ['run', 'scene.tif', '--endpoint', failing.invocationsUrl, '--out', 'y.geojson', '--json'];
      const result = await runCli(args, { cwd });
      expect(result.code).toBe(1);
      const summary = JSON.parse(result.stdout) as { status: string; failedTiles: { tile: string; code: string }[] };
      expect(summary.status).toBe('FAILED');
      expect(summary.failedTiles[0]).toMatchObject({ code: 'MODEL_FAILED', tile: expect.stringContaining('tile 1/') });
    } finally {
      await failing.close();
    }
  }, 60_000);

  it('refuses NITF tiles with UNSUPPORTED (exit 1) instead of substituting another format', async () => {
    const cwd = await project();
    const result = await runCli(
      ['run', 'scene.tif', '--endpoint', model.invocationsUrl, '--tile-format', 'NITF', '--json'],
      { cwd },
    );
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe('UNSUPPORTED');
  });
});
