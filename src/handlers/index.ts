/** The built-in `http` handlers and the pieces plugins build on. */
export { mergeFeatureCollections, translateFeature } from './geojson.js';
export { HttpModelInvoker, type HttpModelInvokerOptions } from '../services/http-model.js';
export { ImageRequestHandler } from './image-handler.js';
export { RegionRequestHandler } from './region-handler.js';
export { splitIntoTiles } from './tiling.js';
export { DEFAULT_TILING } from './types.js';
export type {
  BBox,
  Bounds,
  Feature,
  FeatureCollection,
  Geometry,
  GeometryCollection,
  HandlerLogger,
  ImageHandlerDeps,
  ImageProcessor,
  ImageRequest,
  LineString,
  ModelInvoker,
  MultiLineString,
  MultiPoint,
  MultiPolygon,
  Point,
  Polygon,
  Position,
  PixelSource,
  ProcessingResult,
  RawTile,
  RegionHandlerDeps,
  RegionProcessor,
  RegionRequest,
  TileEncoding,
  TileFailure,
  TileListener,
  TileRequest,
  TilingOptions,
} from './types.js';
