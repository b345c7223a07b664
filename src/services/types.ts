/**
 * What the host injects into handlers to reach a model: one tile in, the model's answer out.
 */
import type { Bounds, FeatureCollection } from '../shared/geojson.js';

/** One tile to run the model on; `bounds` are in full-image pixel coordinates. */
export interface TileRequest {
  imageId: string;
  /** The model: a URL for `http`, an endpoint name for SageMaker. */
  endpoint: string;
  bounds: Bounds;
  /** How messages and logs name the tile, e.g. `tile 3/12 (x=974 y=0 1024x1024)`. */
  name?: string;
  /** The encoded tile (PNG, JPEG or GeoTIFF bytes): the request body. */
  body?: Uint8Array;
  /** The body's media type, e.g. `image/png`. */
  contentType?: string;
  /** The request's `imageProcessorParameters` (SageMaker's `CustomAttributes`, `TargetVariant`, …). */
  parameters?: Record<string, unknown>;
}

/**
 * Runs a model on one tile and returns its answer: a FeatureCollection in tile pixel coordinates,
 * in OSML's model-output format (checked by the region handler, so an invoker may pass it on as parsed).
 */
export interface ModelInvoker {
  /** The largest body the model accepts (6 MB for real-time SageMaker); a larger tile fails with TILE_TOO_LARGE unsent. */
  readonly maxBodyBytes?: number;
  invoke(tile: TileRequest): Promise<FeatureCollection>;
}
