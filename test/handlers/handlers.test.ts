import { describe, expect, it } from 'vitest';
import {
  ImageRequestHandler,
  RegionRequestHandler,
  mergeFeatureCollections,
  splitIntoTiles,
  translateFeature,
  type Bounds,
  type Feature,
  type FeatureCollection,
  type Geometry,
  type ModelInvoker,
  type Position,
  type RegionProcessor,
  type RegionRequest,
  type TileRequest,
} from '../../src/handlers/index.js';

const origins = (tiles: Bounds[]) => tiles.map((t) => [t.x, t.y, t.width, t.height]);

/** True if `inner` lies entirely inside `outer`. */
const contains = (outer: Bounds, inner: Bounds) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;

const pointFeature = (x: number, y: number): Feature => ({
  type: 'Feature',
  geometry: { type: 'Point', coordinates: [x, y] },
  properties: { label: 'ship' },
});

describe('splitIntoTiles', () => {
  it('splits an exact fit into full tiles, row by row', () => {
    const tiles = splitIntoTiles({ x: 0, y: 0, width: 1024, height: 1024 }, 512, 0);
    expect(origins(tiles)).toEqual([
      [0, 0, 512, 512],
      [512, 0, 512, 512],
      [0, 512, 512, 512],
      [512, 512, 512, 512],
    ]);
  });

  it('clips the last tile at the edge and keeps the area offset', () => {
    const tiles = splitIntoTiles({ x: 100, y: 50, width: 1000, height: 300 }, 512, 0);
    expect(origins(tiles)).toEqual([
      [100, 50, 512, 300],
      [612, 50, 488, 300],
    ]);
  });

  it('steps by size - overlap and adds no tile contained in the previous one', () => {
    const row = (width: number) => origins(splitIntoTiles({ x: 0, y: 0, width, height: 10 }, 512, 32));
    expect(row(1000)).toEqual([
      [0, 0, 512, 10],
      [480, 0, 512, 10],
      [960, 0, 40, 10],
    ]);
    // 480 + 512 reaches the edge exactly, so a tile at 960 would be redundant.
    expect(row(992)).toEqual([
      [0, 0, 512, 10],
      [480, 0, 512, 10],
    ]);
  });

  it('returns the whole area as one tile when it is smaller than a tile', () => {
    expect(splitIntoTiles({ x: 7, y: 9, width: 100, height: 60 }, 512, 32)).toEqual([
      { x: 7, y: 9, width: 100, height: 60 },
    ]);
  });

  it('covers every pixel, stays inside the area and never nests tiles', () => {
    const cases = [
      [37, 23, 8, 3],
      [40, 40, 10, 0],
      [17, 5, 4, 3],
      [9, 31, 7, 1],
    ] as const;
    for (const [width, height, size, overlap] of cases) {
      const area = { x: 3, y: 2, width, height };
      const tiles = splitIntoTiles(area, size, overlap);
      const covered = new Set<string>();
      for (const t of tiles) {
        expect(contains(area, t)).toBe(true);
        for (let x = t.x; x < t.x + t.width; x++) {
          for (let y = t.y; y < t.y + t.height; y++) covered.add(`${x},${y}`);
        }
      }
      expect(covered.size).toBe(width * height);
      tiles.forEach((a, i) => tiles.forEach((b, j) => i !== j && expect(contains(a, b)).toBe(false)));
    }
  });

  it('rejects bad arguments with a RangeError naming the argument and value', () => {
    const area = { x: 0, y: 0, width: 100, height: 100 };
    expect(() => splitIntoTiles(area, 0, 0)).toThrow(/size must be an integer >= 1; received 0/);
    expect(() => splitIntoTiles(area, 1.5, 0)).toThrow(/size .*received 1\.5/);
    expect(() => splitIntoTiles(area, Number.NaN, 0)).toThrow(/size .*received NaN/);
    expect(() => splitIntoTiles(area, 64, -1)).toThrow(/overlap must be an integer from 0 to 63; received -1/);
    expect(() => splitIntoTiles(area, 64, 64)).toThrow(/overlap .*received 64/);
    expect(() => splitIntoTiles({ ...area, width: 0 }, 64, 0)).toThrow(/area\.width .*received 0/);
    expect(() => splitIntoTiles(area, 0, 0)).toThrow(RangeError);
  });
});

describe('translateFeature', () => {
  it('shifts a Point, keeping extra coordinates, without touching the input', () => {
    const input: Feature = { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2, 30] }, properties: null };
    const out = translateFeature(input, 10, 20);
    expect(out.geometry).toEqual({ type: 'Point', coordinates: [11, 22, 30] });
    expect(input.geometry).toEqual({ type: 'Point', coordinates: [1, 2, 30] });
  });

  it('shifts every ring of a Polygon and its bbox', () => {
    const outer: Position[] = [
      [0, 0],
      [4, 0],
      [4, 4],
      [0, 0],
    ];
    const hole: Position[] = [
      [1, 1],
      [2, 1],
      [2, 2],
      [1, 1],
    ];
    const base = { type: 'Feature', id: 'a', properties: { score: 0.9 } } as const;
    const out = translateFeature(
      { ...base, bbox: [0, 0, 4, 4], geometry: { type: 'Polygon', coordinates: [outer, hole] } },
      100,
      200,
    );
    expect(out).toEqual({
      ...base,
      bbox: [100, 200, 104, 204],
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [100, 200],
            [104, 200],
            [104, 204],
            [100, 200],
          ],
          [
            [101, 201],
            [102, 201],
            [102, 202],
            [101, 201],
          ],
        ],
      },
    });
  });

  it('shifts a MultiPolygon and geometries inside a GeometryCollection', () => {
    const feature = (geometry: Geometry): Feature => ({ type: 'Feature', properties: null, geometry });
    const multi = translateFeature(
      feature({
        type: 'MultiPolygon',
        coordinates: [
          [
            [
              [0, 0],
              [1, 0],
              [1, 1],
              [0, 0],
            ],
          ],
          [
            [
              [5, 5],
              [6, 5],
              [6, 6],
              [5, 5],
            ],
          ],
        ],
      }),
      -1,
      3,
    );
    expect(multi.geometry).toEqual({
      type: 'MultiPolygon',
      coordinates: [
        [
          [
            [-1, 3],
            [0, 3],
            [0, 4],
            [-1, 3],
          ],
        ],
        [
          [
            [4, 8],
            [5, 8],
            [5, 9],
            [4, 8],
          ],
        ],
      ],
    });

    const collection = translateFeature(
      feature({
        type: 'GeometryCollection',
        geometries: [
          { type: 'Point', coordinates: [0, 0] },
          {
            type: 'LineString',
            coordinates: [
              [0, 0],
              [1, 1],
            ],
          },
        ],
      }),
      2,
      2,
    );
    expect(collection.geometry).toEqual({
      type: 'GeometryCollection',
      geometries: [
        { type: 'Point', coordinates: [2, 2] },
        {
          type: 'LineString',
          coordinates: [
            [2, 2],
            [3, 3],
          ],
        },
      ],
    });
  });

  it('merges collections in order', () => {
    const fc = (...features: Feature[]): FeatureCollection => ({ type: 'FeatureCollection', features });
    expect(mergeFeatureCollections([fc(pointFeature(1, 1)), fc(), fc(pointFeature(2, 2))])).toEqual(
      fc(pointFeature(1, 1), pointFeature(2, 2)),
    );
  });
});

/** Records each tile and reports one Point at tile-local (1, 1). */
class FakeInvoker implements ModelInvoker {
  readonly tiles: TileRequest[] = [];
  invoke(tile: TileRequest): Promise<FeatureCollection> {
    this.tiles.push(tile);
    return Promise.resolve({ type: 'FeatureCollection', features: [pointFeature(1, 1)] });
  }
}

describe('RegionRequestHandler', () => {
  const region = { x: 1000, y: 2000, width: 1000, height: 600 };

  it('runs the model once per full-size tile and returns features in image coordinates', async () => {
    const invoker = new FakeInvoker();
    const handler = new RegionRequestHandler({ modelInvoker: invoker });
    const request = { imageId: 'img-1', endpoint: 'http://model/', region, tileSize: 512, tileOverlap: 32 };
    const result = await handler.processRegionRequest(request);

    // Columns at 1000, 1480 and 1488 (the last shifted back to the edge); rows at 2000 and 2088.
    const expected = [2000, 2088].flatMap((y) => [1000, 1480, 1488].map((x) => ({ x, y, width: 512, height: 512 })));
    expect(invoker.tiles.map((t) => t.bounds).sort((a, b) => a.y - b.y || a.x - b.x)).toEqual(expected);
    expect(invoker.tiles.every((t) => t.name?.startsWith('tile ') && t.name.includes('/6'))).toBe(true);
    expect(result.type).toBe('FeatureCollection');
    expect(result.tiles).toBe(6);
    expect(result.failedTiles).toEqual([]);
    expect(result.features.map((f) => f.geometry)).toEqual(
      expected.map((t) => ({ type: 'Point', coordinates: [t.x + 1, t.y + 1] })),
    );
  });

  it('reads OSML model output: imageBBox and imageGeometry shifted into the image, geometry left for geolocation', async () => {
    const modelInvoker: ModelInvoker = {
      invoke: () =>
        Promise.resolve({
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              geometry: null,
              properties: { imageBBox: [10, 20, 30, 40], featureClasses: [{ iri: 'ship', score: 0.9 }] },
            },
          ],
        }),
    };
    const small = { x: 100, y: 200, width: 64, height: 64 };
    const result = await new RegionRequestHandler({ modelInvoker }).processRegionRequest({
      imageId: 'i',
      endpoint: 'http://m/',
      region: small,
      tileSize: 64,
      tileOverlap: 0,
    });
    expect(result.features).toHaveLength(1);
    expect(result.features[0]?.geometry).toBeNull();
    expect(result.features[0]?.properties?.['imageBBox']).toEqual([110, 220, 130, 240]);
  });

  it('reads and encodes the pixels of each tile when given an image, and sends them as the body', async () => {
    const invoker = new FakeInvoker();
    const windows: Bounds[] = [];
    const image = {
      readWindow: (b: Bounds) => {
        windows.push(b);
        return Promise.resolve({
          data: Buffer.alloc(b.width * b.height, 7),
          width: b.width,
          height: b.height,
          channels: 1 as const,
        });
      },
    };
    const small = { x: 0, y: 0, width: 40, height: 30 };
    await new RegionRequestHandler({ modelInvoker: invoker }).processRegionRequest({
      imageId: 'i',
      endpoint: 'http://m/',
      region: small,
      tileSize: 32,
      tileOverlap: 4,
      image,
    });
    expect(windows).toEqual([
      { x: 0, y: 0, width: 32, height: 30 },
      { x: 8, y: 0, width: 32, height: 30 },
    ]);
    expect(invoker.tiles.map((t) => t.contentType)).toEqual(['image/png', 'image/png']);
    const png = invoker.tiles[0]?.body;
    expect(Buffer.from(png!.subarray(0, 4)).toString('latin1')).toBe('\x89PNG');
  });

  it('lists a tile whose model call fails and goes on with the others', async () => {
    let calls = 0;
    const modelInvoker: ModelInvoker = {
      invoke: (tile) => {
        calls++;
        if (tile.bounds.x === 480) return Promise.reject(new Error('boom'));
        return Promise.resolve({ type: 'FeatureCollection', features: [pointFeature(1, 1)] });
      },
    };
    const result = await new RegionRequestHandler({ modelInvoker }).processRegionRequest({
      imageId: 'i',
      endpoint: 'http://m/',
      region: { x: 0, y: 0, width: 1000, height: 512 },
      tileSize: 512,
      tileOverlap: 32,
    });
    expect(calls).toBe(3);
    expect(result.features).toHaveLength(2);
    expect(result.failedTiles).toHaveLength(1);
    expect(result.failedTiles?.[0]).toMatchObject({ code: 'MODEL_FAILED', bounds: { x: 480, y: 0 } });
    expect(result.failedTiles?.[0]?.tile).toContain('x=480');
  });

  it('fails the tile, naming it, when the model answers something that is not a FeatureCollection', async () => {
    const modelInvoker = { invoke: () => Promise.resolve([] as unknown as FeatureCollection) };
    const result = await new RegionRequestHandler({ modelInvoker }).processRegionRequest({
      imageId: 'i',
      endpoint: 'http://m/',
      region: { x: 0, y: 0, width: 10, height: 10 },
    });
    expect(result.failedTiles?.map((f) => f.code)).toEqual(['MODEL_OUTPUT_INVALID']);
    expect(result.failedTiles?.[0]?.message).toContain('tile 1/1');
  });

  it('uses deps.tiling when the request sets no tile size', async () => {
    const invoker = new FakeInvoker();
    const handler = new RegionRequestHandler({ modelInvoker: invoker, tiling: { tileSize: 500, tileOverlap: 0 } });
    await handler.processRegionRequest({ imageId: 'i', endpoint: 'http://m/', region });
    expect(invoker.tiles.map((t) => [t.bounds.x, t.bounds.y, t.bounds.width]).sort()).toEqual(
      [
        [1000, 2000, 500],
        [1000, 2100, 500],
        [1500, 2000, 500],
        [1500, 2100, 500],
      ].sort(),
    );
  });

  it('names tileSize when the request carries a bad one', async () => {
    const handler = new RegionRequestHandler({ modelInvoker: new FakeInvoker() });
    const request = { imageId: 'i', endpoint: 'http://m/', region, tileSize: 0 };
    await expect(handler.processRegionRequest(request)).rejects.toThrow(/tileSize must be an integer >= 1; received 0/);
  });

  it('logs one debug line per region when given a logger', async () => {
    const lines: [object, string | undefined][] = [];
    const log = (obj: object, msg?: string) => lines.push([obj, msg]);
    const handler = new RegionRequestHandler({
      modelInvoker: new FakeInvoker(),
      logger: { debug: log, info: () => {}, warn: () => {} },
    });
    await handler.processRegionRequest({ imageId: 'i', endpoint: 'http://m/', region, tileSize: 512 });
    expect(lines).toEqual([[{ imageId: 'i', region, tiles: 6, features: 6, failed: 0 }, 'region processed']]);
  });

  it('lets a subclass replace invokeModel', async () => {
    class Plugin extends RegionRequestHandler {
      protected override invokeModel(): Promise<FeatureCollection> {
        return Promise.resolve({ type: 'FeatureCollection', features: [pointFeature(0, 0)] });
      }
    }
    const region = { x: 5, y: 6, width: 10, height: 10 };
    const result = await new Plugin().processRegionRequest({ imageId: 'i', endpoint: 'http://m/', region });
    expect(result.features.map((f) => f.geometry)).toEqual([{ type: 'Point', coordinates: [5, 6] }]);
  });
});

describe('ImageRequestHandler', () => {
  /** Records each region request and reports one Point at the region's origin. */
  class FakeRegions implements RegionProcessor {
    readonly requests: RegionRequest[] = [];
    processRegionRequest(req: RegionRequest): Promise<FeatureCollection> {
      this.requests.push(req);
      return Promise.resolve({ type: 'FeatureCollection', features: [pointFeature(req.region.x, req.region.y)] });
    }
  }

  it('requests regions that overlap by the tile overlap and cover the image (the last ones clipped), and merges their features', async () => {
    const regions = new FakeRegions();
    const handler = new ImageRequestHandler({ regionRequestHandler: regions });
    const tileSettings = { tileSize: 256, tileOverlap: 16 };
    const request = { imageId: 'img', endpoint: 'http://m/', width: 25000, height: 12000, ...tileSettings };
    const result = await handler.processImageRequest(request);

    // Regions hold whole tile strides (240): 240 * 42 + 16 = 10096 pixels.
    const got = regions.requests.map((r) => r.region);
    // The last column and row of regions are clipped at the image edge, as OSML clips them.
    expect(origins(got)).toEqual([
      [0, 0, 10096, 10096],
      [10080, 0, 10096, 10096],
      [20160, 0, 4840, 10096],
      [0, 10080, 10096, 1920],
      [10080, 10080, 10096, 1920],
      [20160, 10080, 4840, 1920],
    ]);
    const image = { x: 0, y: 0, width: request.width, height: request.height };
    expect(got.every((r) => contains(image, r))).toBe(true);
    expect(Math.max(...got.map((r) => r.x + r.width))).toBe(25000);
    expect(Math.max(...got.map((r) => r.y + r.height))).toBe(12000);
    const passedOn = { imageId: 'img', endpoint: 'http://m/', ...tileSettings };
    expect(regions.requests).toEqual(got.map((region) => ({ ...passedOn, region })));
    const origin = (r: Bounds) => ({ type: 'Point', coordinates: [r.x, r.y] });
    expect(result.features.map((f) => f.geometry)).toEqual(got.map(origin));
  });

  it('processes only request.area when given (an ROI)', async () => {
    const regions = new FakeRegions();
    await new ImageRequestHandler({ regionRequestHandler: regions }).processImageRequest({
      imageId: 'img',
      endpoint: 'http://m/',
      width: 5000,
      height: 5000,
      area: { x: 100, y: 200, width: 300, height: 400 },
      tileSize: 256,
      tileOverlap: 0,
    });
    expect(origins(regions.requests.map((r) => r.region))).toEqual([[100, 200, 300, 400]]);
  });

  it('honours regionSize from the request', async () => {
    const regions = new FakeRegions();
    await new ImageRequestHandler({ regionRequestHandler: regions }).processImageRequest({
      imageId: 'img',
      endpoint: 'http://m/',
      width: 300,
      height: 100,
      regionSize: 100,
      tileSize: 100,
      tileOverlap: 0,
    });
    expect(regions.requests.map((r) => r.region.x)).toEqual([0, 100, 200]);
  });

  it('builds its own region handler from the same deps when given none', async () => {
    const invoker = new FakeInvoker();
    const tiling = { regionSize: 1000, tileSize: 1000, tileOverlap: 0 };
    const handler = new ImageRequestHandler({ modelInvoker: invoker, tiling });
    const request = { imageId: 'img', endpoint: 'http://m/', width: 1500, height: 800 };
    const result = await handler.processImageRequest(request);
    expect(invoker.tiles.map((t) => [t.bounds.x, t.bounds.y])).toEqual([
      [0, 0],
      [500, 0],
    ]);
    expect(result.features.map((f) => f.geometry)).toEqual([
      { type: 'Point', coordinates: [1, 1] },
      { type: 'Point', coordinates: [501, 1] },
    ]);
  });

  it("merges every region's failed tiles and tile count", async () => {
    const failing: RegionProcessor = {
      processRegionRequest: (req) =>
        Promise.resolve({
          type: 'FeatureCollection',
          features: [],
          tiles: 2,
          failedTiles: [{ tile: `t${req.region.x}`, bounds: req.region, code: 'MODEL_FAILED', message: 'm' }],
        }),
    };
    const result = await new ImageRequestHandler({ regionRequestHandler: failing }).processImageRequest({
      imageId: 'img',
      endpoint: 'http://m/',
      width: 300,
      height: 100,
      regionSize: 100,
      tileSize: 100,
      tileOverlap: 0,
    });
    expect(result.tiles).toBe(6);
    expect(result.failedTiles?.map((f) => f.tile)).toEqual(['t0', 't100', 't200']);
  });

  it('lets a subclass replace processRegion', async () => {
    const seen: Bounds[] = [];
    class Plugin extends ImageRequestHandler {
      protected override processRegion(request: RegionRequest): Promise<FeatureCollection> {
        seen.push(request.region);
        return Promise.resolve({ type: 'FeatureCollection', features: [] });
      }
    }
    const handler = new Plugin({ tiling: { regionSize: 50, tileSize: 50, tileOverlap: 0 } });
    await handler.processImageRequest({ imageId: 'img', endpoint: 'http://m/', width: 100, height: 40 });
    expect(origins(seen)).toEqual([
      [0, 0, 50, 40],
      [50, 0, 50, 40],
    ]);
  });

  it('rejects a width or height that is not a positive integer', async () => {
    const handler = new ImageRequestHandler({ regionRequestHandler: new FakeRegions() });
    const base = { imageId: 'img', endpoint: 'http://m/', width: 100, height: 100 };
    const bad = (change: object) => handler.processImageRequest({ ...base, ...change });
    await expect(bad({ width: 0 })).rejects.toThrow(/width must be an integer >= 1; received 0/);
    await expect(bad({ height: 2.5 })).rejects.toThrow(/height .*received 2\.5/);
    await expect(bad({ width: -3 })).rejects.toBeInstanceOf(RangeError);
  });
});
