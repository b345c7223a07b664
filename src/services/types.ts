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

/** SageMaker's real-time payload limit, 6 MB: larger tiles fail with TILE_TOO_LARGE, unsent. */
export const SAGEMAKER_MAX_BODY_BYTES = 6 * 1024 * 1024;

/**
 * The `sagemakerRuntime` service the host provides to handlers that `require` it: SageMaker
 * inference on the host's AWS clients and credentials, so a plugin never holds either. Both calls
 * take a tile whose `endpoint` is the endpoint name and resolve to the model's parsed answer (read
 * by the region handler as any model's); they fail with an `ExtensionError` naming the endpoint
 * and the tile (`MODEL_FAILED`, `MODEL_OUTPUT_INVALID`; `ASYNC_INPUT_FAILED` stops an async run).
 */
export interface SageMakerRuntime {
  /** The largest real-time request body (6 MB): give it to the region handler as `maxBodyBytes`. */
  readonly maxBodyBytes: number;
  /** Real-time inference (`InvokeEndpoint`): the tile's bytes as the body. */
  invokeEndpoint(tile: TileRequest): Promise<FeatureCollection>;
  /**
   * Asynchronous inference: the tile's bytes are put under the input location, `InvokeEndpointAsync`
   * is called with it, and the output and failure locations are polled until one appears.
   */
  invokeEndpointAsync(tile: TileRequest): Promise<FeatureCollection>;
}
