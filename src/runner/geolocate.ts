/**
 * Pixel ⇄ WGS84 conversion for a georeferenced image, and the OSML geolocation of one feature
 * (geometry from `imageGeometry`, `bbox` from `imageBBox`, centre longitude/latitude).
 */
import proj4 from 'proj4';
import type { Feature, Geometry, Position } from '../shared/geojson.js';
import type { Georef } from './georef.js';

/** Converts full-image pixel coordinates (pixel-corner based, GDAL convention) to WGS84 and back. */
export interface Geolocator {
  /** Pixel (x = column, y = row) → `[lon, lat]` in degrees (WGS84). */
  toLonLat(x: number, y: number): [number, number];
  /** `[lon, lat]` in degrees (WGS84) → pixel `[x, y]`. */
  toPixel(lon: number, lat: number): [number, number];
}

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

/**
 * Build a {@link Geolocator} for one image. The proj4 converter is created once here; the inverse
 * affine is solved in closed form.
 *
 * @example
 * const locator = createGeolocator(georef);
 * const [lon, lat] = locator.toLonLat(512, 512);
 */
export function createGeolocator(georef: Georef): Geolocator {
  const [a0, a1, a2, a3, a4, a5] = georef.affine;
  const det = a1 * a5 - a2 * a4;
  const converter = proj4(georef.crs.proj4, WGS84);
  return {
    toLonLat(x, y) {
      const [lon, lat] = converter.forward([a0 + a1 * x + a2 * y, a3 + a4 * x + a5 * y]);
      return [lon ?? Number.NaN, lat ?? Number.NaN];
    },
    toPixel(lon, lat) {
      const [X = Number.NaN, Y = Number.NaN] = converter.inverse([lon, lat]);
      const dx = X - a0;
      const dy = Y - a3;
      return [(a5 * dx - a2 * dy) / det, (a1 * dy - a4 * dx) / det];
    },
  };
}

/**
 * Geolocate one feature whose `properties.imageGeometry` / `properties.imageBBox` are in
 * full-image pixels (OSML §5). Returns a new feature:
 * - `geometry`: `imageGeometry` with every position mapped to `[lon, lat]` (any geometry type,
 *   recursively); left as it was when there is no `imageGeometry`.
 * - `bbox`: `[minLon, minLat, maxLon, maxLat]` of the 4 mapped corners of `imageBBox`
 *   (`[minX, minY, maxX, maxY]`); absent when there is no valid `imageBBox`.
 * - `properties.center_longitude` / `center_latitude`: the mapped centre of `imageBBox`, or of
 *   the pixel extent of `imageGeometry` when there is no `imageBBox`.
 * Values are not rounded. A feature with neither property is returned as an unchanged copy.
 */
export function geolocateFeature(feature: Feature, locator: Geolocator): Feature {
  const properties = { ...(feature.properties ?? {}) };
  const imageGeometry = asGeometry(properties['imageGeometry']);
  const imageBBox = asBBox(properties['imageBBox']);
  const out: Feature = { ...feature, properties };
  if (imageGeometry) out.geometry = mapGeometry(imageGeometry, locator);

  const box = imageBBox ?? (imageGeometry ? extentOf(imageGeometry) : undefined);
  if (imageBBox) {
    const [minX, minY, maxX, maxY] = imageBBox;
    const corners = [
      locator.toLonLat(minX, minY),
      locator.toLonLat(maxX, minY),
      locator.toLonLat(maxX, maxY),
      locator.toLonLat(minX, maxY),
    ];
    const lons = corners.map((c) => c[0]);
    const lats = corners.map((c) => c[1]);
    out.bbox = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
  }
  if (box) {
    const [lon, lat] = locator.toLonLat((box[0] + box[2]) / 2, (box[1] + box[3]) / 2);
    properties['center_longitude'] = lon;
    properties['center_latitude'] = lat;
  }
  return out;
}

// --- internals ---------------------------------------------------------------------------------

type Box = [number, number, number, number];

function mapGeometry(geometry: Geometry, locator: Geolocator): Geometry {
  const map = (p: Position): Position => locator.toLonLat(p[0], p[1]);
  switch (geometry.type) {
    case 'Point':
      return { type: 'Point', coordinates: map(geometry.coordinates) };
    case 'MultiPoint':
    case 'LineString':
      return { type: geometry.type, coordinates: geometry.coordinates.map(map) };
    case 'MultiLineString':
    case 'Polygon':
      return { type: geometry.type, coordinates: geometry.coordinates.map((ring) => ring.map(map)) };
    case 'MultiPolygon':
      return { type: 'MultiPolygon', coordinates: geometry.coordinates.map((poly) => poly.map((r) => r.map(map))) };
    case 'GeometryCollection':
      return { type: 'GeometryCollection', geometries: geometry.geometries.map((g) => mapGeometry(g, locator)) };
  }
}

/** The pixel extent `[minX, minY, maxX, maxY]` of a geometry, or undefined when it has no position. */
function extentOf(geometry: Geometry): Box | undefined {
  const box: Box = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (value: unknown): void => {
    if (!Array.isArray(value)) return;
    const [x, y] = value as unknown[];
    if (typeof x === 'number' && typeof y === 'number') {
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x);
      box[3] = Math.max(box[3], y);
    } else value.forEach(visit);
  };
  const visitGeometry = (g: Geometry): void =>
    g.type === 'GeometryCollection' ? g.geometries.forEach(visitGeometry) : visit(g.coordinates);
  visitGeometry(geometry);
  return box.every(Number.isFinite) ? box : undefined;
}

function asGeometry(value: unknown): Geometry | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const g = value as { type?: unknown; coordinates?: unknown; geometries?: unknown };
  if (g.type === 'GeometryCollection') return Array.isArray(g.geometries) ? (value as Geometry) : undefined;
  const types = ['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon'];
  return typeof g.type === 'string' && types.includes(g.type) && Array.isArray(g.coordinates)
    ? (value as Geometry)
    : undefined;
}

function asBBox(value: unknown): Box | undefined {
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  return value.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (value as Box) : undefined;
}
