import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpModelInvoker,
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

  it('runs the model once per tile and returns features in image coordinates', async () => {
    const invoker = new FakeInvoker();
    const handler = new RegionRequestHandler({ modelInvoker: invoker });
    const request = { imageId: 'img-1', endpoint: 'http://model/', region, tileSize: 512, tileOverlap: 32 };
    const result = await handler.processRegionRequest(request);

    const expectedTiles = splitIntoTiles(region, 512, 32);
    expect(expectedTiles).toHaveLength(6);
    expect(invoker.tiles).toEqual(
      expectedTiles.map((bounds) => ({ imageId: 'img-1', endpoint: 'http://model/', bounds })),
    );
    expect(result.type).toBe('FeatureCollection');
    expect(result.features).toHaveLength(expectedTiles.length);
    expect(result.features.map((f) => f.geometry)).toEqual(
      expectedTiles.map((t) => ({ type: 'Point', coordinates: [t.x + 1, t.y + 1] })),
    );
  });

  it('uses deps.tiling when the request sets no tile size', async () => {
    const invoker = new FakeInvoker();
    const handler = new RegionRequestHandler({ modelInvoker: invoker, tiling: { tileSize: 500, tileOverlap: 0 } });
    await handler.processRegionRequest({ imageId: 'i', endpoint: 'http://m/', region });
    expect(invoker.tiles.map((t) => t.bounds)).toEqual(splitIntoTiles(region, 500, 0));
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
    expect(lines).toEqual([[{ imageId: 'i', region, tiles: 6, features: 6 }, 'region processed']]);
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

  it('requests regions that cover the image exactly once and merges their features', async () => {
    const regions = new FakeRegions();
    const handler = new ImageRequestHandler({ regionRequestHandler: regions });
    const tileSettings = { tileSize: 256, tileOverlap: 16 };
    const request = { imageId: 'img', endpoint: 'http://m/', width: 25000, height: 12000, ...tileSettings };
    const result = await handler.processImageRequest(request);

    const got = regions.requests.map((r) => r.region);
    expect(origins(got)).toEqual([
      [0, 0, 10240, 10240],
      [10240, 0, 10240, 10240],
      [20480, 0, 4520, 10240],
      [0, 10240, 10240, 1760],
      [10240, 10240, 10240, 1760],
      [20480, 10240, 4520, 1760],
    ]);
    const image = { x: 0, y: 0, width: request.width, height: request.height };
    expect(got.every((r) => contains(image, r))).toBe(true);
    expect(got.reduce((sum, r) => sum + r.width * r.height, 0)).toBe(request.width * request.height);
    for (const a of got) {
      for (const b of got) {
        const xOverlap = a.x < b.x + b.width && b.x < a.x + a.width;
        const yOverlap = a.y < b.y + b.height && b.y < a.y + a.height;
        expect(a !== b && xOverlap && yOverlap).toBe(false);
      }
    }
    const passedOn = { imageId: 'img', endpoint: 'http://m/', ...tileSettings };
    expect(regions.requests).toEqual(got.map((region) => ({ ...passedOn, region })));
    const origin = (r: Bounds) => ({ type: 'Point', coordinates: [r.x, r.y] });
    expect(result.features.map((f) => f.geometry)).toEqual(got.map(origin));
  });

  it('honours regionSize from the request', async () => {
    const regions = new FakeRegions();
    await new ImageRequestHandler({ regionRequestHandler: regions }).processImageRequest({
      imageId: 'img',
      endpoint: 'http://m/',
      width: 300,
      height: 100,
      regionSize: 100,
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
      [1000, 0],
    ]);
    expect(result.features.map((f) => f.geometry)).toEqual([
      { type: 'Point', coordinates: [1, 1] },
      { type: 'Point', coordinates: [1001, 1] },
    ]);
  });

  it('lets a subclass replace processRegion', async () => {
    const seen: Bounds[] = [];
    class Plugin extends ImageRequestHandler {
      protected override processRegion(request: RegionRequest): Promise<FeatureCollection> {
        seen.push(request.region);
        return Promise.resolve({ type: 'FeatureCollection', features: [] });
      }
    }
    const handler = new Plugin({ tiling: { regionSize: 50 } });
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

describe('HttpModelInvoker', () => {
  const received: { method?: string; url?: string; contentType?: string; body: unknown }[] = [];
  const collection: FeatureCollection = { type: 'FeatureCollection', features: [pointFeature(3, 4)] };
  let server: Server;
  let base: string;

  const readBody = async (req: IncomingMessage): Promise<string> => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return text;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      void readBody(req).then((text) => {
        const contentType = req.headers['content-type'];
        received.push({ method: req.method, url: req.url, contentType, body: JSON.parse(text) });
        const reply = (status: number, body: string) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(body);
        if (req.url === '/ok') reply(200, JSON.stringify(collection));
        else if (req.url === '/fail') reply(500, 'model exploded');
        else if (req.url === '/feature') reply(200, JSON.stringify(pointFeature(0, 0)));
        else if (req.url === '/bad-features') reply(200, '{"type":"FeatureCollection","features":{}}');
        else if (req.url === '/not-json') reply(200, '<html>');
        // '/slow' never answers.
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  const tile = (path: string): TileRequest => ({
    imageId: 'img-7',
    endpoint: `${base}${path}`,
    bounds: { x: 512, y: 1024, width: 512, height: 256 },
  });

  it('POSTs { imageId, bounds } as JSON and returns the FeatureCollection', async () => {
    const result = await new HttpModelInvoker().invoke(tile('/ok'));
    expect(result).toEqual(collection);
    expect(received.at(-1)).toEqual({
      method: 'POST',
      url: '/ok',
      contentType: 'application/json',
      body: { imageId: 'img-7', bounds: { x: 512, y: 1024, width: 512, height: 256 } },
    });
  });

  it('names the URL and status when the model answers with an error', async () => {
    const url = `${base}/fail`;
    await expect(new HttpModelInvoker().invoke(tile('/fail'))).rejects.toThrow(
      `Model endpoint ${url} responded 500 Internal Server Error: model exploded`,
    );
  });

  it('rejects a body that is not a FeatureCollection, saying what it got', async () => {
    const invoker = new HttpModelInvoker();
    await expect(invoker.invoke(tile('/feature'))).rejects.toThrow(
      /expected a GeoJSON FeatureCollection, received an object with type "Feature"/,
    );
    await expect(invoker.invoke(tile('/bad-features'))).rejects.toThrow(
      /expected "features" to be an array, received an object/,
    );
    await expect(invoker.invoke(tile('/not-json'))).rejects.toThrow(/returned invalid JSON: <html>/);
  });

  it('gives up after timeoutMs, naming the URL', async () => {
    await expect(new HttpModelInvoker({ timeoutMs: 100 }).invoke(tile('/slow'))).rejects.toThrow(
      `Model request to ${base}/slow timed out after 100 ms`,
    );
  });

  it('uses the fetch it is given', async () => {
    const calls: string[] = [];
    const fakeFetch: typeof fetch = (input) => {
      calls.push(String(input));
      return Promise.resolve(new Response(JSON.stringify(collection), { status: 200 }));
    };
    await expect(new HttpModelInvoker({ fetch: fakeFetch }).invoke(tile('/x'))).resolves.toEqual(collection);
    expect(calls).toEqual([`${base}/x`]);
  });
});
