import { mergeFeatureCollections, translateFeature } from './geojson.js';
import { HttpModelInvoker } from './http-model-invoker.js';
import { assertTileSizes, resolveTiling, splitIntoTiles } from './tiling.js';
import type {
  FeatureCollection,
  ModelInvoker,
  RegionHandlerDeps,
  RegionProcessor,
  RegionRequest,
  TileRequest,
  TilingOptions,
} from './types.js';

/**
 * The built-in region handler: cuts a region into overlapping tiles, runs the model on
 * each tile in turn and returns all detections in image pixel coordinates.
 *
 * Detections in the overlap of two tiles may be reported twice; this handler does not
 * de-duplicate them. Plugins extend this class and override
 * {@link RegionRequestHandler.invokeModel}.
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
   * Processes one region. `request.tileSize` and `request.tileOverlap` take precedence over
   * the handler's tiling. Features come back in tile order (row by row).
   *
   * @throws RangeError on an invalid region or tile size; whatever
   *   {@link RegionRequestHandler.invokeModel} throws.
   */
  async processRegionRequest(request: RegionRequest): Promise<FeatureCollection> {
    const tileSize = request.tileSize ?? this.tiling.tileSize;
    const tileOverlap = request.tileOverlap ?? this.tiling.tileOverlap;
    assertTileSizes('tileSize', tileSize, 'tileOverlap', tileOverlap);
    const tiles = splitIntoTiles(request.region, tileSize, tileOverlap);

    const results: FeatureCollection[] = [];
    // Sequential on purpose: one tile in flight per region keeps load on the model predictable.
    for (const bounds of tiles) {
      const found = await this.invokeModel({ imageId: request.imageId, endpoint: request.endpoint, bounds });
      results.push({
        type: 'FeatureCollection',
        features: found.features.map((f) => translateFeature(f, bounds.x, bounds.y)),
      });
    }
    const merged = mergeFeatureCollections(results);
    this.deps.logger?.debug(
      { imageId: request.imageId, region: request.region, tiles: tiles.length, features: merged.features.length },
      'region processed',
    );
    return merged;
  }

  /**
   * Runs the model on one tile; returns features in tile pixel coordinates.
   * Delegates to {@link RegionRequestHandler.modelInvoker}; override to call a model some other way.
   */
  protected invokeModel(tile: TileRequest): Promise<FeatureCollection> {
    return this.modelInvoker.invoke(tile);
  }
}
