/**
 * Shared types for the built-in handlers: pixel bounds, a minimal GeoJSON subset,
 * request shapes and the dependencies a handler can be given.
 */

import type { Bounds, FeatureCollection } from '../shared/geojson.js';

export type * from '../shared/geojson.js';

import type { ModelInvoker } from '../services/types.js';

export type { ModelInvoker, TileRequest } from '../services/types.js';

/** Pixels of one window of an image, 8-bit, interleaved: what a tile is encoded from. */
export interface RawTile {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** The image being processed, read one window at a time (never whole). */
export interface PixelSource {
  readWindow(bounds: Bounds): Promise<RawTile>;
}

/** How tiles are encoded for the model (OSML's `imageProcessorTileFormat` / `…Compression`). */
export interface TileEncoding {
  /** @default 'PNG' */
  format?: 'PNG' | 'JPEG' | 'GTIFF';
  /** GTIFF only. @default 'NONE' */
  compression?: 'NONE' | 'JPEG' | 'LZW' | 'DEFLATE';
}

/** A tile that still failed after its retries: the run goes on without it and ends PARTIAL. */
export interface TileFailure {
  /** How messages name it, e.g. `tile 3/12 (x=974 y=0 1024x1024)`. */
  tile: string;
  bounds: Bounds;
  /** The error's stable code, e.g. `MODEL_FAILED`. */
  code: string;
  message: string;
}

/** What a region or image handler returns: features in full-image pixels, and the tiles that failed. */
export interface ProcessingResult extends FeatureCollection {
  /** Tiles sent to the model (or attempted). */
  tiles?: number;
  failedTiles?: TileFailure[];
}

/** Told after each tile, done or failed (progress bars, logs). */
export type TileListener = (event: { tile: string; bounds: Bounds; error?: TileFailure }) => void;

/** A request to process one region of an image. */
export interface RegionRequest {
  imageId: string;
  /** The model: a URL for `http`, an endpoint name for SageMaker. */
  endpoint: string;
  /** The region, in image pixel coordinates. */
  region: Bounds;
  /** Overrides {@link TilingOptions.tileSize}. */
  tileSize?: number;
  /** Overrides {@link TilingOptions.tileOverlap}. */
  tileOverlap?: number;
  /** The pixels. Without it (a request built by hand), the model is sent only the tile's bounds. */
  image?: PixelSource;
  tileEncoding?: TileEncoding;
  /** The request's `imageProcessorParameters`, handed to the model invoker. */
  parameters?: Record<string, unknown>;
  onTile?: TileListener;
}

/** A request to process a whole image. */
export interface ImageRequest {
  imageId: string;
  /** The model: a URL for `http`, an endpoint name for SageMaker. */
  endpoint: string;
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** The part of the image to process (an ROI's pixel bounds); the whole image by default. */
  area?: Bounds;
  /** Overrides {@link TilingOptions.regionSize}. */
  regionSize?: number;
  /** Overrides {@link TilingOptions.tileSize}. */
  tileSize?: number;
  /** Overrides {@link TilingOptions.tileOverlap}. */
  tileOverlap?: number;
  image?: PixelSource;
  tileEncoding?: TileEncoding;
  parameters?: Record<string, unknown>;
  onTile?: TileListener;
}

/** How an image is cut up: into regions and regions into tiles, both overlapping by the tile overlap. */
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
  tileSize: 1024,
  tileOverlap: 50,
});

/** The logging calls the handlers make; a pino logger fits. */
export interface HandlerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Anything that can process a region request, e.g. a `RegionRequestHandler`. */
export interface RegionProcessor {
  processRegionRequest(req: RegionRequest): Promise<ProcessingResult>;
}

/** Anything that can process an image request, e.g. an `ImageRequestHandler`. */
export interface ImageProcessor {
  processImageRequest(req: ImageRequest): Promise<ProcessingResult>;
}

/** Services given to a region handler; plugins may receive more under other names. */
export interface RegionHandlerDeps {
  /** Defaults to an `HttpModelInvoker`. */
  modelInvoker?: ModelInvoker;
  /** Overlaid on {@link DEFAULT_TILING}. */
  tiling?: Partial<TilingOptions>;
  logger?: HandlerLogger;
  /** Tiles in flight at once per region. @default 8 */
  concurrency?: number;
  [service: string]: unknown;
}

/** Services given to an image handler. */
export interface ImageHandlerDeps extends RegionHandlerDeps {
  /** Defaults to a `RegionRequestHandler` built from the same deps. */
  regionRequestHandler?: RegionProcessor;
}
