/**
 * The SageMaker plugins this repository ships, run against a fake `sagemakerRuntime` (the real one,
 * on the AWS SDK against a local SageMaker runtime, is tested in test/host/sagemaker-run.test.ts). They are
 * TypeScript imported through jiti, as the loader imports them (Node's own loader cannot run .ts,
 * and vitest.config.ts leaves plugins/ to it). They import `osml-extensions` (dist/ via the
 * package self-reference): run `npm run build` first.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createJiti } from 'jiti';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bounds, FeatureCollection, PixelSource, RegionRequest, TileRequest } from '../src/handlers/types.js';
import { ExtensionError } from '../src/shared/errors.js';
import { attachedManifest, validateManifest } from '../src/plugin/manifest.js';
import { HandlerType } from '../src/shared/types.js';
import { ROOT } from './helpers/index.js';

type SmModule = typeof import('../plugins/sm-endpoint/index.js');
type AsyncModule = typeof import('../plugins/async-sm-endpoint/index.js');
interface RegionHandler {
  processRegionRequest(request: RegionRequest): Promise<FeatureCollection>;
}

const jiti = createJiti(import.meta.url, { interopDefault: false });
const importPlugin = async <T>(rel: string): Promise<T> => (await jiti.import(path.join(ROOT, rel))) as T;

let sm: SmModule;
let asyncSm: AsyncModule;
beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  sm = await importPlugin<SmModule>('plugins/sm-endpoint/index.ts');
  asyncSm = await importPlugin<AsyncModule>('plugins/async-sm-endpoint/index.ts');
});

/** What the fake model finds in every tile: one point at tile-local (5, 5). */
const tileResult = (): FeatureCollection => ({
  type: 'FeatureCollection',
  features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [5, 5] }, properties: { label: 'ship' } }],
});

/** A fake host `sagemakerRuntime`: records the tiles it is given, answers `response` (or fails with `fail`). */
function fakeRuntime(
  options: { response?: unknown; maxBodyBytes?: number; fail?: (tile: TileRequest) => unknown } = {},
) {
  const calls: TileRequest[] = [];
  const asyncCalls: TileRequest[] = [];
  const answer = async (tile: TileRequest): Promise<FeatureCollection> => {
    const failure = options.fail?.(tile);
    if (failure !== undefined) throw failure;
    return structuredClone(options.response ?? tileResult()) as FeatureCollection;
  };
  return {
    calls,
    asyncCalls,
    maxBodyBytes: options.maxBodyBytes ?? 6 * 1024 * 1024,
    invokeEndpoint(tile: TileRequest): Promise<FeatureCollection> {
      calls.push(tile);
      return answer(tile);
    },
    invokeEndpointAsync(tile: TileRequest): Promise<FeatureCollection> {
      asyncCalls.push(tile);
      return answer(tile);
    },
  };
}

/** Grey pixels for any window: the image a region request reads its tiles from. */
const greyImage: PixelSource = {
  readWindow: (b) =>
    Promise.resolve({ data: Buffer.alloc(b.width * b.height, 90), width: b.width, height: b.height, channels: 1 }),
};

const pointsOf = (fc: FeatureCollection): unknown[] =>
  fc.features.map((f) => (f.geometry?.type === 'Point' ? f.geometry.coordinates : f.geometry));

const quadrants = (x: number, y: number): Bounds[] => [
  { x, y, width: 256, height: 256 },
  { x: x + 256, y, width: 256, height: 256 },
  { x, y: y + 256, width: 256, height: 256 },
  { x: x + 256, y: y + 256, width: 256, height: 256 },
];

const region = (x: number, y: number): RegionRequest => ({
  imageId: 'img-1',
  endpoint: 'my-sm-endpoint',
  region: { x, y, width: 512, height: 512 },
  tileSize: 256,
  tileOverlap: 0,
});

describe('sm-endpoint region handler', () => {
  it('sends each tile through the runtime once and returns features in image coordinates', async () => {
    const runtime = fakeRuntime();
    const handler = new sm.SageMakerRegionHandler({ sagemakerRuntime: runtime });
    const result = await handler.processRegionRequest(region(512, 1024));

    expect(runtime.calls).toHaveLength(4);
    expect(runtime.asyncCalls).toHaveLength(0);
    expect(runtime.calls.every((c) => c.endpoint === 'my-sm-endpoint' && c.imageId === 'img-1')).toBe(true);
    expect(runtime.calls.map((c) => c.bounds)).toEqual(quadrants(512, 1024));
    expect(result.type).toBe('FeatureCollection');
    expect(pointsOf(result)).toEqual([
      [517, 1029],
      [773, 1029],
      [517, 1285],
      [773, 1285],
    ]);
    // A model answering with a plain pixel `geometry` (no OSML pixel properties) keeps it as its shape.
    const point = { type: 'Point', coordinates: [517, 1029] };
    expect(result.features[0]?.properties).toEqual({
      label: 'ship',
      imageGeometry: point,
      imageBBox: [517, 1029, 517, 1029],
    });
  });

  it("sends the tile's encoded bytes, their Content-Type and the request's parameters", async () => {
    const runtime = fakeRuntime();
    const handler = new sm.SageMakerRegionHandler({ sagemakerRuntime: runtime });
    const parameters = { CustomAttributes: 'model_selection=blobs', TargetVariant: 'AllTraffic' };
    await handler.processRegionRequest({ ...region(0, 0), image: greyImage, parameters });

    expect(runtime.calls).toHaveLength(4);
    for (const call of runtime.calls) {
      expect(call.contentType).toBe('image/png');
      expect([...(call.body ?? new Uint8Array()).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
      expect(call.parameters).toEqual(parameters);
      expect(call.name).toMatch(/^tile \d\/4 /);
    }
  });

  it("refuses a tile over the runtime's maxBodyBytes with TILE_TOO_LARGE before any call", async () => {
    const runtime = fakeRuntime({ maxBodyBytes: 100 });
    const handler = new sm.SageMakerRegionHandler({ sagemakerRuntime: runtime });
    const result = await handler.processRegionRequest({ ...region(0, 0), image: greyImage });
    expect(runtime.calls).toHaveLength(0);
    expect(result.failedTiles?.map((f) => f.code)).toEqual(Array(4).fill('TILE_TOO_LARGE'));
  });

  it.each([
    ['an error object', { message: 'model crashed' }],
    ['an array', []],
    ['a FeatureCollection without features', { type: 'FeatureCollection' }],
  ])('fails every tile answered with %s, naming the endpoint', async (_what, response) => {
    const runtime = fakeRuntime({ response });
    const handler = new sm.SageMakerRegionHandler({ sagemakerRuntime: runtime });
    const result = await handler.processRegionRequest(region(0, 0));
    expect(result.features).toEqual([]);
    expect(result.failedTiles).toHaveLength(4);
    for (const failure of result.failedTiles ?? []) expect(failure.message).toMatch(/my-sm-endpoint/);
  });

  it('refuses to be built with something that is not the host runtime (the old SDK-shaped fake)', () => {
    const old = { invokeEndpoint: () => Promise.resolve({ Body: '' }) };
    expect(() => new sm.SageMakerRegionHandler({ sagemakerRuntime: old as never })).toThrow(TypeError);
  });
});

describe('sm-endpoint image handler', () => {
  it('processes a 1024x512 image end to end through the sm region handler', async () => {
    const runtime = fakeRuntime();
    const regionHandler = new sm.SageMakerRegionHandler({ sagemakerRuntime: runtime });
    const handler = new sm.SageMakerImageHandler({ sagemakerRuntime: runtime, regionRequestHandler: regionHandler });
    const result = await handler.processImageRequest({
      imageId: 'img-1',
      endpoint: 'my-sm-endpoint',
      width: 1024,
      height: 512,
      regionSize: 512,
      tileSize: 256,
      tileOverlap: 0,
    });

    expect(runtime.calls).toHaveLength(8);
    expect(runtime.calls.every((c) => c.endpoint === 'my-sm-endpoint')).toBe(true);
    expect(runtime.calls.map((c) => c.bounds)).toEqual([...quadrants(0, 0), ...quadrants(512, 0)]);
    expect(pointsOf(result)).toEqual([
      [5, 5],
      [261, 5],
      [5, 261],
      [261, 261],
      [517, 5],
      [773, 5],
      [517, 261],
      [773, 261],
    ]);
  });
});

describe('async-sm-endpoint region handler', () => {
  it("sends each tile's bytes through the runtime's async inference", async () => {
    const runtime = fakeRuntime();
    const handler = new asyncSm.AsyncSageMakerRegionHandler({ sagemakerRuntime: runtime });
    const result = await handler.processRegionRequest({ ...region(0, 512), image: greyImage });

    expect(runtime.calls).toHaveLength(0);
    expect(runtime.asyncCalls).toHaveLength(4);
    expect(runtime.asyncCalls.every((c) => c.endpoint === 'my-sm-endpoint' && c.contentType === 'image/png')).toBe(
      true,
    );
    // Tiles are read and encoded concurrently, so calls come in any order.
    const byPosition = (a: Bounds, b: Bounds) => a.y - b.y || a.x - b.x;
    expect(runtime.asyncCalls.map((c) => c.bounds).sort(byPosition)).toEqual(quadrants(0, 512));
    expect(pointsOf(result)).toEqual([
      [5, 517],
      [261, 517],
      [5, 773],
      [261, 773],
    ]);
  });

  it('lists a tile whose inference failed and goes on with the others', async () => {
    const runtime = fakeRuntime({
      fail: (tile) => (tile.bounds.x === 256 && tile.bounds.y === 0 ? new Error('no') : undefined),
    });
    const handler = new asyncSm.AsyncSageMakerRegionHandler({ sagemakerRuntime: runtime });
    const result = await handler.processRegionRequest(region(0, 0));
    expect(result.failedTiles?.map((f) => f.bounds)).toEqual([{ x: 256, y: 0, width: 256, height: 256 }]);
    expect(result.features).toHaveLength(3);
  });

  it('stops the region with ASYNC_INPUT_FAILED, the one error no tile can outlive', async () => {
    const stop = new ExtensionError('ASYNC_INPUT_FAILED', { location: 's3://b/in/', endpoint: 'e', reason: 'denied' });
    const runtime = fakeRuntime({ fail: () => stop });
    const handler = new asyncSm.AsyncSageMakerRegionHandler({ sagemakerRuntime: runtime });
    await expect(handler.processRegionRequest(region(0, 0))).rejects.toMatchObject({ code: 'ASYNC_INPUT_FAILED' });
  });
});

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A region handler whose calls stay pending until the test settles them; records concurrency. */
function gatedRegionHandler() {
  const open: { request: RegionRequest; done: Deferred<FeatureCollection> }[] = [];
  const state = { active: 0, max: 0, started: 0 };
  const handler: RegionHandler = {
    async processRegionRequest(request) {
      state.started++;
      state.active++;
      state.max = Math.max(state.max, state.active);
      const done = deferred<FeatureCollection>();
      open.push({ request, done });
      try {
        return await done.promise;
      } finally {
        state.active--;
      }
    },
  };
  return { handler, open, state };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('async-sm-endpoint image handler', () => {
  it.each([2, 3])(
    'keeps up to regionsInFlight=%i regions in flight, yet returns features in region order',
    async (regionsInFlight) => {
      const gate = gatedRegionHandler();
      const handler = new asyncSm.AsyncSageMakerImageHandler({ regionRequestHandler: gate.handler, regionsInFlight });
      // 5 regions of 512 in a row.
      const run = handler.processImageRequest({
        imageId: 'img-1',
        endpoint: 'my-sm-endpoint',
        width: 2560,
        height: 512,
        regionSize: 512,
        tileSize: 512,
        tileOverlap: 0,
      });

      await tick();
      expect(gate.state.active).toBe(regionsInFlight);
      // Settle the newest pending region first, so completion order differs from region order.
      for (let guard = 0; guard < 20; guard++) {
        await tick();
        expect(gate.state.active).toBeLessThanOrEqual(regionsInFlight);
        const pending = gate.open.pop();
        if (pending === undefined) break;
        const { x } = pending.request.region;
        pending.done.resolve({
          type: 'FeatureCollection',
          features: [{ type: 'Feature', geometry: null, properties: { regionX: x } }],
        });
      }
      const result = await run;

      expect(gate.state.started).toBe(5);
      expect(gate.state.max).toBe(regionsInFlight);
      expect(result.features.map((f) => f.properties?.['regionX'])).toEqual([0, 512, 1024, 1536, 2048]);
    },
  );

  it('runs a small image end to end through the async region handler', async () => {
    const runtime = fakeRuntime();
    const deps = { sagemakerRuntime: runtime, regionsInFlight: 2 };
    const regionHandler = new asyncSm.AsyncSageMakerRegionHandler(deps);
    const handler = new asyncSm.AsyncSageMakerImageHandler({ ...deps, regionRequestHandler: regionHandler });
    const result = await handler.processImageRequest({
      imageId: 'img-1',
      endpoint: 'my-sm-endpoint',
      width: 1024,
      height: 512,
      regionSize: 512,
      tileSize: 256,
      tileOverlap: 0,
    });

    expect(runtime.asyncCalls).toHaveLength(8);
    expect(pointsOf(result)).toEqual([
      [5, 5],
      [261, 5],
      [5, 261],
      [261, 261],
      [517, 5],
      [773, 5],
      [517, 261],
      [773, 261],
    ]);
  });
});

describe('plugin manifests', () => {
  it('decorates the sm-endpoint classes with valid manifests', () => {
    const region = attachedManifest(sm.SageMakerRegionHandler);
    const image = attachedManifest(sm.SageMakerImageHandler);
    expect(region).toBeDefined();
    expect(image).toBeDefined();

    const regionManifest = validateManifest(
      { ...region, handler: sm.SageMakerRegionHandler },
      'plugins/sm-endpoint/index.ts',
    );
    expect(regionManifest).toMatchObject({
      requestType: 'sm_endpoint',
      handlerType: HandlerType.REGION_REQUEST_HANDLER,
      supportedEndpoints: ['sagemaker'],
      requires: ['sagemakerRuntime'],
    });
    const imageManifest = validateManifest(
      { ...image, handler: sm.SageMakerImageHandler },
      'plugins/sm-endpoint/index.ts',
    );
    expect(imageManifest).toMatchObject({
      requestType: 'sm_endpoint',
      handlerType: HandlerType.IMAGE_REQUEST_HANDLER,
      supportedEndpoints: ['sagemaker'],
    });
    expect(regionManifest.name).not.toBe(imageManifest.name);
  });

  it('exports valid async-sm-endpoint manifests, one region and one image handler', () => {
    expect(asyncSm.manifests).toHaveLength(2);
    const manifests = asyncSm.manifests.map((m) => validateManifest(m, 'plugins/async-sm-endpoint/index.ts'));
    const region = manifests.find((m) => m.handlerType === HandlerType.REGION_REQUEST_HANDLER);
    const image = manifests.find((m) => m.handlerType === HandlerType.IMAGE_REQUEST_HANDLER);

    expect(region).toMatchObject({
      requestType: 'async_sm_endpoint',
      supportedEndpoints: ['async_sagemaker'],
      requires: ['sagemakerRuntime'],
      handler: asyncSm.AsyncSageMakerRegionHandler,
    });
    expect(image).toMatchObject({
      requestType: 'async_sm_endpoint',
      supportedEndpoints: ['async_sagemaker'],
      handler: asyncSm.AsyncSageMakerImageHandler,
    });
    expect(region?.name).not.toBe(image?.name);
  });
});
