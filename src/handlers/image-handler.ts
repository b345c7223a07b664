import { mergeFeatureCollections } from './geojson.js';
import { RegionRequestHandler } from './region-handler.js';
import { assertIntegerInRange, resolveTiling, splitIntoTiles } from './tiling.js';
import type {
  FeatureCollection,
  ImageHandlerDeps,
  ImageRequest,
  RegionProcessor,
  RegionRequest,
  TilingOptions,
} from './types.js';

/**
 * The built-in image handler: cuts an image into non-overlapping regions, hands each to a
 * region processor in turn and merges the results (already in image pixel coordinates).
 * Plugins extend this class and override {@link ImageRequestHandler.processRegion}.
 */
export class ImageRequestHandler {
  /** Everything the handler was constructed with, including services it does not use itself. */
  protected readonly deps: ImageHandlerDeps;
  /** `deps.regionRequestHandler`, or a {@link RegionRequestHandler} built from the same deps. */
  protected readonly regionRequestHandler: RegionProcessor;
  /** `DEFAULT_TILING` overlaid with `deps.tiling`; only `regionSize` is used here. */
  protected readonly tiling: TilingOptions;

  /** @param deps - Services and settings; all optional. */
  constructor(deps: ImageHandlerDeps = {}) {
    this.deps = deps;
    this.regionRequestHandler = deps.regionRequestHandler ?? new RegionRequestHandler(deps);
    this.tiling = resolveTiling(deps.tiling);
  }

  /**
   * Processes a whole image. Regions are `request.regionSize` (else the handler's) pixels
   * square, clipped at the image edge, visited row by row; tile settings are passed through.
   *
   * @throws RangeError if `width`, `height` or `regionSize` is not a positive integer;
   *   whatever {@link ImageRequestHandler.processRegion} throws.
   */
  async processImageRequest(request: ImageRequest): Promise<FeatureCollection> {
    assertIntegerInRange('width', request.width, 1);
    assertIntegerInRange('height', request.height, 1);
    const regionSize = request.regionSize ?? this.tiling.regionSize;
    assertIntegerInRange('regionSize', regionSize, 1);

    const image = { x: 0, y: 0, width: request.width, height: request.height };
    const regions = splitIntoTiles(image, regionSize, 0);
    const results = await this.processRegions(
      regions.map((region) => ({
        imageId: request.imageId,
        endpoint: request.endpoint,
        region,
        tileSize: request.tileSize,
        tileOverlap: request.tileOverlap,
      })),
    );
    const merged = mergeFeatureCollections(results);
    this.deps.logger?.debug(
      { imageId: request.imageId, regions: regions.length, features: merged.features.length },
      'image processed',
    );
    return merged;
  }

  /**
   * Processes every region, one at a time, returning results in region order. Override to run
   * regions concurrently (the async SageMaker plugin does).
   */
  protected async processRegions(requests: readonly RegionRequest[]): Promise<FeatureCollection[]> {
    const results: FeatureCollection[] = [];
    for (const request of requests) results.push(await this.processRegion(request));
    return results;
  }

  /** Processes one region; delegates to {@link ImageRequestHandler.regionRequestHandler}. */
  protected processRegion(request: RegionRequest): Promise<FeatureCollection> {
    return this.regionRequestHandler.processRegionRequest(request);
  }
}
