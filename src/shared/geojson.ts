/**
 * GeoJSON (RFC 7946) types, and the pixel rectangle every stage of tiling and geolocation speaks.
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
export type Geometry = Point | MultiPoint | LineString | MultiLineString | Polygon | MultiPolygon | GeometryCollection;

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
