/**
 * runImage with the SageMaker request types, end to end: the repo's plugins, the host's services on
 * the real AWS SDK clients, and the local SageMaker runtime + S3 (examples/sagemaker-local) backed by
 * the same example model the `http` path reaches over HTTP. The SDK finds them through its standard
 * variables (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, AWS_ENDPOINT_URL_S3), set per test.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer } from '../../examples/model-server/server.mjs';
import {
  startSageMakerLocal,
  type SageMakerLocal,
  type SageMakerLocalOptions,
} from '../../examples/sagemaker-local/server.mjs';
import { loadExtensions, type Extensions } from '../../src/host/extensions.js';
import { runImage, type RunImageOptions } from '../../src/host/run.js';
import { isExtensionError } from '../../src/shared/errors.js';
import type { Feature, FeatureCollection } from '../../src/shared/geojson.js';
import { writeGeoTiff, type WriteGeoTiffOptions } from '../helpers/geotiff.js';
import { recordingLogger, ROOT, tempDir } from '../helpers/index.js';

/** 700 x 500, UTM 33N, bright squares in tiles, on a tile seam and near the edges. */
const SCENE: WriteGeoTiffOptions = {
  width: 700,
  height: 500,
  bands: 3,
  squares: [
    { x: 60, y: 70, size: 12, value: 255 },
    { x: 230, y: 200, size: 14, value: 255 }, // in the overlap of the first two tile columns
    { x: 520, y: 400, size: 10, value: 255 },
    { x: 680, y: 30, size: 16, value: 255 },
  ],
  georef: { kind: 'tiepoint', tiepoint: [0, 0, 0, 500000, 4650000, 0], pixelScale: [0.5, 0.5, 0], epsg: 32633 },
};
/** 256-pixel tiles overlapping by at least 32: 3 columns x 3 rows = 9 tiles. */
const TILING = { tileSize: 256, tileOverlap: 32 };
/** Quick polls; a timeout long enough for a loaded machine (the timeout test sets its own). */
const FAST_POLLING = { polling: { firstPollMs: 5, maxPollMs: 20, timeoutMs: 20_000 } };

let ext: Extensions;
let model: Awaited<ReturnType<typeof startModelServer>>;
let sceneDir: string;
let scene: string;
beforeAll(async () => {
  // The repo's own config and plugins, booted once as a host would.
  ext = await loadExtensions({ cwd: ROOT, env: {} });
  model = await startModelServer({ mode: 'blobs' });
  // Not tempDir(): its folders go after each test, and the scene serves them all.
  sceneDir = await mkdtemp(path.join(await realpath(os.tmpdir()), 'osml-ext-scene-'));
  scene = path.join(sceneDir, 'scene.tif');
  await writeGeoTiff(scene, SCENE);
});
afterAll(async () => {
  await model.close();
  await rm(sceneDir, { recursive: true, force: true });
});

const cleanup: (() => Promise<void>)[] = [];
const savedEnv = { ...process.env };
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

async function local(options: SageMakerLocalOptions = {}): Promise<SageMakerLocal> {
  const server = await startSageMakerLocal({ asyncDelayMs: 10, ...options });
  cleanup.push(() => server.close());
  Object.assign(process.env, server.env);
  return server;
}

/** Run the scene with `requestType` against `endpoint`; the written FeatureCollection, if any. */
async function run(
  requestType: string,
  endpoint: string,
  extra: RunImageOptions = {},
): Promise<{ summary: Awaited<ReturnType<typeof runImage>>; written: FeatureCollection | undefined; out: string }> {
  const out = path.join(await tempDir(), 'out.geojson');
  const summary = await runImage(
    { image: scene, options: { endpoint, out, ...TILING } },
    { extensions: ext, requestType, logger: recordingLogger(), aws: FAST_POLLING, ...extra },
  );
  const written = existsSync(out) ? (JSON.parse(await readFile(out, 'utf8')) as FeatureCollection) : undefined;
  return { summary, written, out };
}

/** What must match between paths: each feature's box in the image and its lon/lat, in a stable order. */
const located = (features: readonly Feature[]) =>
  features
    .map((f) => ({
      box: f.properties?.['imageBBox'],
      lon: f.properties?.['center_longitude'],
      lat: f.properties?.['center_latitude'],
    }))
    .sort((a, b) => JSON.stringify(a.box).localeCompare(JSON.stringify(b.box)));

describe('the SageMaker request types end to end', () => {
  it('sm_endpoint and async_sm_endpoint find the same features, at the same lon/lat, as http', async () => {
    const http = await run('http', model.invocationsUrl);
    expect(http.summary.status).toBe('SUCCESS');
    expect(http.written?.features).toHaveLength(SCENE.squares!.length);

    const server = await local();
    const sync = await run('sm_endpoint', 'detector');
    const queued = await run('async_sm_endpoint', 'detector', { asyncInputLocation: 's3://tiles/in/' });

    for (const { summary, written } of [sync, queued]) {
      expect(summary).toMatchObject({ status: 'SUCCESS', tiles: 9, failedTiles: [] });
      expect(located(written!.features)).toEqual(located(http.written!.features));
    }
    expect(sync.summary.requestType).toBe('sm_endpoint');
    expect(queued.summary.requestType).toBe('async_sm_endpoint');
    const kinds = server.invocations.map((i) => i.kind);
    expect(kinds.filter((k) => k === 'sync')).toHaveLength(9);
    expect(kinds.filter((k) => k === 'async')).toHaveLength(9);
    expect(server.keys('tiles')).toHaveLength(9);
    expect(server.invocations.every((i) => i.contentType === 'image/png' && i.accept === 'application/geo+json')).toBe(
      true,
    );
  });

  it('retries throttled calls and ends SUCCESS', async () => {
    const server = await local({ fault: 'throttle', faultCalls: 2 });
    const { summary } = await run('sm_endpoint', 'detector');
    expect(summary).toMatchObject({ status: 'SUCCESS', failedTiles: [] });
    expect(server.invocations.filter((i) => i.fault === 'throttle')).toHaveLength(2);
  });

  it("a model error fails that tile, named, and the run is PARTIAL with the others' features", async () => {
    await local({ fault: 'model-error', faultCalls: 1 });
    const { summary, written } = await run('sm_endpoint', 'detector');
    expect(summary.status).toBe('PARTIAL');
    expect(summary.failedTiles).toHaveLength(1);
    const [failed] = summary.failedTiles;
    expect(failed?.code).toBe('MODEL_FAILED');
    expect(failed?.message).toContain('SageMaker endpoint detector');
    expect(failed?.message).toContain(failed!.tile);
    expect(failed?.message).toContain('container answered 500');
    expect(written?.features.length).toBeGreaterThan(0);
  });

  it('async results that never appear time out, each tile named with both locations; nothing is written', async () => {
    await local({ fault: 'async-never' });
    const { summary, written } = await run('async_sm_endpoint', 'detector', {
      asyncInputLocation: 's3://tiles/in/',
      aws: { polling: { firstPollMs: 5, maxPollMs: 20, timeoutMs: 250 } },
    });
    expect(summary.status).toBe('FAILED');
    expect(summary.failedTiles).toHaveLength(9);
    for (const failure of summary.failedTiles) {
      expect(failure.message).toContain(`The model at async SageMaker endpoint detector failed on ${failure.tile}`);
      expect(failure.message).toMatch(/no result at s3:\/\/\S+ nor at s3:\/\/\S+ within 250 ms/);
    }
    expect(written).toBeUndefined();
  });

  it('an async input upload that fails stops the run with one ASYNC_INPUT_FAILED, writing nothing', async () => {
    const server = await local({ fault: 's3-put-denied' });
    const out = path.join(await tempDir(), 'out.geojson');
    const error = await runImage(
      { image: scene, options: { endpoint: 'detector', out, ...TILING } },
      { extensions: ext, requestType: 'async_sm_endpoint', asyncInputLocation: 's3://tiles/in/', aws: FAST_POLLING },
    ).catch((e: unknown) => e);
    expect(isExtensionError(error, 'ASYNC_INPUT_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/s3:\/\/tiles\/in\/.*AccessDenied/);
    expect(existsSync(out)).toBe(false);
    expect(server.invocations).toHaveLength(0);
  });

  it('the runtime killed mid-run: PARTIAL, the failed tiles listed, no hang', async () => {
    const server = await local({ killAfter: 3 });
    const { summary, written } = await run('sm_endpoint', 'detector');
    expect(summary.status).toBe('PARTIAL');
    // Three tiles answered before it died; the other six are listed.
    expect(summary.failedTiles).toHaveLength(6);
    for (const failure of summary.failedTiles) {
      expect(failure.code).toBe('MODEL_FAILED');
      expect(failure.message).toMatch(/could not be reached|socket hang up|ECONNRESET/);
    }
    expect(server.invocations.filter((i) => i.fault === undefined)).toHaveLength(3);
    expect(written?.type).toBe('FeatureCollection');
  });

  it('refuses a real-time tile over 6 MB with TILE_TOO_LARGE, per tile, before any call', async () => {
    const server = await local();
    const big = path.join(await tempDir(), 'big.tif');
    // Uncompressed 1500 x 1500 RGB GeoTIFF tiles are 6.75 MB each.
    await writeGeoTiff(big, { width: 1600, height: 1600, bands: 3, georef: { kind: 'none' } });
    const summary = await runImage(
      { image: big, options: { endpoint: 'detector', out: '-', tileSize: 1500, tileOverlap: 50, tileFormat: 'GTIFF' } },
      { extensions: ext, requestType: 'sm_endpoint', stdout: { write: () => true } as never },
    );
    expect(summary.status).toBe('FAILED');
    expect(summary.failedTiles.map((f) => f.code)).toEqual(Array(4).fill('TILE_TOO_LARGE'));
    expect(summary.failedTiles[0]?.message).toMatch(/encodes to \d+ bytes, over the 6291456-byte payload limit/);
    expect(server.invocations).toHaveLength(0);
  });

  it('reads an s3:// image and writes the features to S3, at s3://bucket/<prefix>/<jobId>.geojson', async () => {
    const server = await local();
    server.putObject('imagery', 'scenes/scene.tif', await readFile(scene), 'image/tiff');
    const summary = await runImage(
      {
        request: {
          jobId: 'job-42',
          imageUrls: ['s3://imagery/scenes/scene.tif'],
          imageProcessor: { name: 'detector', type: 'SM_ENDPOINT' },
          imageProcessorTileSize: 256,
          imageProcessorTileOverlap: 32,
          outputs: [{ type: 'S3', bucket: 'results', prefix: 'runs/' }],
        },
      },
      { extensions: ext },
    );
    expect(summary).toMatchObject({
      status: 'SUCCESS',
      requestType: 'sm_endpoint',
      out: 's3://results/runs/job-42.geojson',
      features: SCENE.squares!.length,
    });
    const stored = server.getObject('results', 'runs/job-42.geojson');
    const fc = JSON.parse(stored!.body.toString('utf8')) as FeatureCollection;
    expect(fc.features.map((f) => f.properties?.['inferenceMetadata'])).toEqual(
      Array(SCENE.squares!.length).fill(expect.objectContaining({ jobId: 'job-42' })),
    );
  });
});
