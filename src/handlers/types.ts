/**
 * Shared types for the built-in handlers: pixel bounds, a minimal GeoJSON subset,
 * request shapes and the dependencies a handler can be given.
 */

/** A rectangle in image pixel coordinates; all fields are integers. */
export interface Bounds {
  /** Left edge (column of the first pixel). */
  x: number;
  /** Top edge (row of the first pixel). */
  y: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** A GeoJSON position: `[x, y, ...rest]` (rest is e.g. elevation, carried through untouched). */
export type Position = [x: number, y: number, ...rest: number[]];

/** A GeoJSON bounding box: all minima, then all maxima (`[minX, minY, maxX, maxY]` in 2D). */
export type BBox = number[];

/** A GeoJSON Point. */
export interface Point {
  type: 'Point';
  coordinates: Position;
  bbox?: BBox;
}

/** A GeoJSON MultiPoint. */
export interface MultiPoint {
  type: 'MultiPoint';
  coordinates: Position[];
  bbox?: BBox;
}

/** A GeoJSON LineString. */
export interface LineString {
  type: 'LineString';
  coordinates: Position[];
  bbox?: BBox;
}

/** A GeoJSON MultiLineString. */
export interface MultiLineString {
  type: 'MultiLineString';
  coordinates: Position[][];
  bbox?: BBox;
}

/** A GeoJSON Polygon: an outer ring followed by any holes. */
export interface Polygon {
  type: 'Polygon';
  coordinates: Position[][];
  bbox?: BBox;
}

/** A GeoJSON MultiPolygon. */
export interface MultiPolygon {
  type: 'MultiPolygon';
  coordinates: Position[][][];
  bbox?: BBox;
}

/** A GeoJSON GeometryCollection. */
export interface GeometryCollection {
  type: 'GeometryCollection';
  geometries: Geometry[];
  bbox?: BBox;
}

/** Any GeoJSON geometry. */
export type Geometry =
  | Point
  | MultiPoint
  | LineString
  | MultiLineString
  | Polygon
  | MultiPolygon
  | GeometryCollection;

/** A GeoJSON Feature. */
export interface Feature {
  type: 'Feature';
  geometry: Geometry | null;
  properties: Record<string, unknown> | null;
  id?: string | number;
  bbox?: BBox;
}

/** A GeoJSON FeatureCollection. */
export interface FeatureCollection {
  type: 'FeatureCollection';
  features: Feature[];
  bbox?: BBox;
}

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
