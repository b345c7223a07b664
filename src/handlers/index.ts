/** The built-in `http` handlers and the pieces plugins build on. */
export { mergeFeatureCollections, translateFeature } from './geojson.js';
export { HttpModelInvoker, type HttpModelInvokerOptions } from './http-model-invoker.js';
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
  ImageRequest,
  LineString,
  ModelInvoker,
  MultiLineString,
  MultiPoint,
  MultiPolygon,
  Point,
  Polygon,
  Position,
  RegionHandlerDeps,
  RegionProcessor,
  RegionRequest,
  TileRequest,
  TilingOptions,
} from './types.js';
