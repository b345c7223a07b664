/**
 * Shared types for the built-in handlers: pixel bounds, a minimal GeoJSON subset,
 * request shapes and the dependencies a handler can be given.
 */

import type { Bounds, FeatureCollection } from '../shared/geojson.js';

export type * from '../shared/geojson.js';

/** One tile to run the model on; `bounds` are in image pixel coordinates. */
export interface TileRequest {
  imageId: string;
  /** Model endpoint URL. */
  endpoint: string;
  bounds: Bounds;
}

/** Runs a model on one tile and returns its detections in tile pixel coordinates. */
export interface ModelInvoker {
  invoke(tile: TileRequest): Promise<FeatureCollection>;
}

/** A request to process one region of an image. */
export interface RegionRequest {
  imageId: string;
  /** Model endpoint URL. */
  endpoint: string;
  /** The region, in image pixel coordinates. */
  region: Bounds;
  /** Overrides {@link TilingOptions.tileSize}. */
  tileSize?: number;
  /** Overrides {@link TilingOptions.tileOverlap}. */
  tileOverlap?: number;
}

/** A request to process a whole image. */
export interface ImageRequest {
  imageId: string;
  /** Model endpoint URL. */
  endpoint: string;
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Overrides {@link TilingOptions.regionSize}. */
  regionSize?: number;
  /** Overrides {@link TilingOptions.tileSize}. */
  tileSize?: number;
  /** Overrides {@link TilingOptions.tileOverlap}. */
  tileOverlap?: number;
}

/** How an image is cut up: into regions (no overlap), and regions into overlapping tiles. */
export interface TilingOptions {
  /** Edge of a square region, in pixels. */
  regionSize: number;
  /** Edge of a square tile, in pixels. */
  tileSize: number;
  /** Pixels shared by neighbouring tiles. */
  tileOverlap: number;
}

/** Tiling used when neither the deps nor the request say otherwise. */
export const DEFAULT_TILING: Readonly<TilingOptions> = Object.freeze({
  regionSize: 10240,
  tileSize: 512,
  tileOverlap: 32,
});

/** The logging calls the handlers make; a pino logger fits. */
export interface HandlerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Anything that can process a region request, e.g. a `RegionRequestHandler`. */
export interface RegionProcessor {
  processRegionRequest(req: RegionRequest): Promise<FeatureCollection>;
}

/** Services given to a region handler; plugins may receive more under other names. */
export interface RegionHandlerDeps {
  /** Defaults to an `HttpModelInvoker`. */
  modelInvoker?: ModelInvoker;
  /** Overlaid on {@link DEFAULT_TILING}. */
  tiling?: Partial<TilingOptions>;
  logger?: HandlerLogger;
  [service: string]: unknown;
}

/** Services given to an image handler. */
export interface ImageHandlerDeps extends RegionHandlerDeps {
  /** Defaults to a `RegionRequestHandler` built from the same deps. */
  regionRequestHandler?: RegionProcessor;
}
