import { planTiles } from '../runner/tile.js';
import { RegionRequestHandler } from './region-handler.js';
import { assertIntegerInRange, resolveTiling } from './tiling.js';
import type {
  ImageHandlerDeps,
  ImageRequest,
  ProcessingResult,
  RegionProcessor,
  RegionRequest,
  TileFailure,
  TilingOptions,
} from './types.js';

/**
 * The built-in image handler: cuts the image (or its ROI's area) into regions that overlap by the
 * tile overlap, hands each to a region processor in turn and merges the results (already in image
 * pixel coordinates) with every failed tile. Plugins extend this class and override
 * {@link ImageRequestHandler.processRegion} or {@link ImageRequestHandler.processRegions}.
 */
export class ImageRequestHandler {
  /** Everything the handler was constructed with, including services it does not use itself. */
  protected readonly deps: ImageHandlerDeps;
  /** `deps.regionRequestHandler`, or a {@link RegionRequestHandler} built from the same deps. */
  protected readonly regionRequestHandler: RegionProcessor;
  /** `DEFAULT_TILING` overlaid with `deps.tiling`. */
  protected readonly tiling: TilingOptions;

  /** @param deps - Services and settings; all optional. */
  constructor(deps: ImageHandlerDeps = {}) {
    this.deps = deps;
    this.regionRequestHandler = deps.regionRequestHandler ?? new RegionRequestHandler(deps);
    this.tiling = resolveTiling(deps.tiling);
  }

  /**
   * Processes a whole image (or `request.area`). Regions are `request.regionSize` (else the
   * handler's) pixels square, full size where the image allows, visited row by row; the tile
   * settings, pixels and encoding are passed through.
   *
   * @throws RangeError if `width`, `height` or a size is not a positive integer; whatever
   *   {@link ImageRequestHandler.processRegion} throws.
   */
  async processImageRequest(request: ImageRequest): Promise<ProcessingResult> {
    assertIntegerInRange('width', request.width, 1);
    assertIntegerInRange('height', request.height, 1);
    const tileSize = request.tileSize ?? this.tiling.tileSize;
    const tileOverlap = request.tileOverlap ?? this.tiling.tileOverlap;
    const regionSize = Math.max(request.regionSize ?? this.tiling.regionSize, tileSize);
    assertIntegerInRange('regionSize', regionSize, 1);

    const area = request.area ?? { x: 0, y: 0, width: request.width, height: request.height };
    const plan = planTiles(area, { regionSize, tileSize, tileOverlap });
    const results = await this.processRegions(
      plan.regions.map(({ bounds }) => {
        const region: RegionRequest = {
          imageId: request.imageId,
          endpoint: request.endpoint,
          region: bounds,
          tileSize,
          tileOverlap,
        };
        if (request.image !== undefined) region.image = request.image;
        if (request.tileEncoding !== undefined) region.tileEncoding = request.tileEncoding;
        if (request.parameters !== undefined) region.parameters = request.parameters;
        if (request.onTile !== undefined) region.onTile = request.onTile;
        return region;
      }),
    );
    const failedTiles: TileFailure[] = results.flatMap((r) => r.failedTiles ?? []);
    const merged: ProcessingResult = {
      type: 'FeatureCollection',
      features: results.flatMap((r) => r.features),
      tiles: results.reduce((sum, r) => sum + (r.tiles ?? 0), 0),
      failedTiles,
    };
    this.deps.logger?.debug(
      {
        imageId: request.imageId,
        regions: plan.regions.length,
        features: merged.features.length,
        failed: failedTiles.length,
      },
      'image processed',
    );
    return merged;
  }

  /**
   * Processes every region, one at a time (each region runs its tiles concurrently), returning
   * results in region order. Override to run regions concurrently (the async SageMaker plugin does).
   */
  protected async processRegions(requests: readonly RegionRequest[]): Promise<ProcessingResult[]> {
    const results: ProcessingResult[] = [];
    for (const request of requests) results.push(await this.processRegion(request));
    return results;
  }

  /** Processes one region; delegates to {@link ImageRequestHandler.regionRequestHandler}. */
  protected processRegion(request: RegionRequest): Promise<ProcessingResult> {
    return this.regionRequestHandler.processRegionRequest(request);
  }
}
