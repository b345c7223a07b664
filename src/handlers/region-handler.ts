import { CLIPPED } from '../runner/dedupe.js';
import { encodeTile } from '../runner/encode.js';
import { readModelOutput } from '../runner/model-output.js';
import { describeTile, tileRegion } from '../runner/tile.js';
import { HttpModelInvoker } from '../services/http-model.js';
import { mapBounded } from '../shared/concurrency.js';
import { describeThrown, ExtensionError, isExtensionError } from '../shared/errors.js';
import type { Bounds, Feature } from '../shared/geojson.js';
import { assertTileSizes, resolveTiling } from './tiling.js';
import type {
  FeatureCollection,
  ModelInvoker,
  ProcessingResult,
  RegionHandlerDeps,
  RegionProcessor,
  RegionRequest,
  TileFailure,
  TileRequest,
  TilingOptions,
} from './types.js';

/** Tiles in flight at once per region when the deps do not say. */
const DEFAULT_CONCURRENCY = 8;

/**
 * The built-in region handler, as OSML's tile worker does it: cuts a region into full-size tiles
 * overlapping by at least the tile overlap, reads and encodes each tile's pixels, sends them to the
 * model, and reads the answer (OSML's model-output format) into features in full-image pixels.
 *
 * A tile that fails (after the invoker's retries) is reported in `failedTiles` and the others go on;
 * only `ASYNC_INPUT_FAILED` (no tile can be sent at all) is thrown, stopping the run.
 * Detections in tile overlaps are reported by each tile that saw them; the runner de-duplicates once
 * over the whole image. Plugins extend this class and override {@link RegionRequestHandler.invokeModel}.
 */
export class RegionRequestHandler implements RegionProcessor {
  /** Everything the handler was constructed with, including services it does not use itself. */
  protected readonly deps: RegionHandlerDeps;
  /** Runs the model on a tile; `deps.modelInvoker` or an {@link HttpModelInvoker}. */
  protected readonly modelInvoker: ModelInvoker;
  /** `DEFAULT_TILING` overlaid with `deps.tiling`. */
  protected readonly tiling: TilingOptions;

  /** @param deps - Services and settings; all optional. */
  constructor(deps: RegionHandlerDeps = {}) {
    this.deps = deps;
    this.modelInvoker = deps.modelInvoker ?? new HttpModelInvoker();
    this.tiling = resolveTiling(deps.tiling);
  }

  /**
   * Processes one region. `request.tileSize` and `request.tileOverlap` take precedence over the
   * handler's tiling. Features come back in tile order (row by row), whatever order tiles finish in.
   *
   * @throws RangeError on an invalid region or tile size. A tile's own failure is not thrown: it is
   *   listed in `failedTiles`.
   */
  async processRegionRequest(request: RegionRequest): Promise<ProcessingResult> {
    const tileSize = request.tileSize ?? this.tiling.tileSize;
    const tileOverlap = request.tileOverlap ?? this.tiling.tileOverlap;
    assertTileSizes('tileSize', tileSize, 'tileOverlap', tileOverlap);
    const { region } = request;
    const tiles = tileRegion(region, tileSize, tileOverlap);

    const failedTiles: TileFailure[] = [];
    const concurrency = this.deps.concurrency ?? DEFAULT_CONCURRENCY;
    const perTile = await mapBounded(tiles, concurrency, async (bounds, index) => {
      const name = describeTile(index + 1, tiles.length, bounds);
      try {
        const features = await this.processTile(request, bounds, name);
        request.onTile?.({ tile: name, bounds });
        return features;
      } catch (error) {
        if (error instanceof RangeError || error instanceof TypeError) throw error;
        // An async input location that cannot be written fails every tile alike: stop the run with one error.
        if (isExtensionError(error, 'ASYNC_INPUT_FAILED')) throw error;
        const failure = {
          tile: name,
          bounds,
          code: isExtensionError(error) ? error.code : 'MODEL_FAILED',
          message: isExtensionError(error) ? error.message : describeThrown(error),
        };
        failedTiles.push(failure);
        this.deps.logger?.warn({ event: 'tile.failed', ...failure }, 'tile failed');
        request.onTile?.({ tile: name, bounds, error: failure });
        return [];
      }
    });
    const features = perTile.flat();
    this.deps.logger?.debug(
      { imageId: request.imageId, region, tiles: tiles.length, features: features.length, failed: failedTiles.length },
      'region processed',
    );
    return { type: 'FeatureCollection', features, tiles: tiles.length, failedTiles };
  }

  /** Read, encode and send one tile; its features in full-image pixels. */
  protected async processTile(request: RegionRequest, bounds: Bounds, name: string): Promise<Feature[]> {
    const tile: TileRequest = { imageId: request.imageId, endpoint: request.endpoint, bounds, name };
    if (request.parameters !== undefined) tile.parameters = request.parameters;
    if (request.image !== undefined) {
      const pixels = await request.image.readWindow(bounds);
      const encoding = request.tileEncoding ?? {};
      const encoded = await encodeTile(pixels, encoding.format ?? 'PNG', encoding.compression ?? 'NONE');
      const limit = this.modelInvoker.maxBodyBytes;
      if (limit !== undefined && encoded.body.length > limit) {
        throw new ExtensionError('TILE_TOO_LARGE', { tile: name, size: encoded.body.length, limit });
      }
      tile.body = encoded.body;
      tile.contentType = encoded.contentType;
    }
    const answer = await this.invokeModel(tile);
    return readAnswer(answer, bounds, name, request.endpoint).map((feature) => markClipped(feature, bounds));
  }

  /**
   * Runs the model on one tile; returns its answer in tile pixel coordinates (OSML's model-output
   * format). Delegates to {@link RegionRequestHandler.modelInvoker}; override to call a model some other way.
   */
  protected invokeModel(tile: TileRequest): Promise<FeatureCollection> {
    return this.modelInvoker.invoke(tile);
  }
}

/** Mark a feature whose box touches its tile's edge, so de-duplication can tell a sliver from a whole. */
function markClipped(feature: Feature, tile: Bounds): Feature {
  const box = feature.properties?.['imageBBox'];
  if (!Array.isArray(box) || box.length !== 4) return feature;
  const [minX, minY, maxX, maxY] = box as [number, number, number, number];
  const edge =
    minX <= tile.x + 0.5 ||
    minY <= tile.y + 0.5 ||
    maxX >= tile.x + tile.width - 0.5 ||
    maxY >= tile.y + tile.height - 0.5;
  return edge ? Object.assign(feature, { [CLIPPED]: true }) : feature;
}

/** OSML's pixel properties; a feature with none of them is read the pre-OSML way, by `geometry`. */
const PIXEL_KEYS = ['imageGeometry', 'imageBBox', 'geom_imcoords', 'bounds_imcoords', 'detection'];

/**
 * The model's answer as features in full-image pixels. Features that carry only a `geometry` (the
 * convention of this project's first handlers, still used by fakes in plugin tests) keep it as their
 * pixel shape: it becomes `imageGeometry`, and `geometry` is the same shape moved into the image.
 */
function readAnswer(answer: unknown, bounds: Bounds, tileName: string, endpoint: string): Feature[] {
  const legacy = new Set<number>();
  const body = answer as { features?: unknown } | null;
  if (body !== null && typeof body === 'object' && Array.isArray(body.features)) {
    body.features = body.features.map((f: unknown, index: number) => {
      const feature = f as Feature | null;
      const props = feature?.properties ?? {};
      if (feature?.geometry == null || PIXEL_KEYS.some((k) => k in props)) return f;
      legacy.add(index);
      return { ...feature, properties: { ...props, imageGeometry: feature.geometry } };
    });
  }
  const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
  const features = readModelOutput(text, { tile: bounds, tileName, endpoint });
  if (legacy.size === 0) return features;
  return features.map((f, i) =>
    legacy.has(i) ? { ...f, geometry: f.properties?.['imageGeometry'] as Feature['geometry'] } : f,
  );
}
