import type { BBox, Feature, FeatureCollection, Geometry, Position } from './types.js';

const shiftPosition = (p: Position, dx: number, dy: number): Position => {
  const [x, y, ...rest] = p;
  return [x + dx, y + dy, ...rest];
};

const shiftPositions = (ps: Position[], dx: number, dy: number): Position[] => ps.map((p) => shiftPosition(p, dx, dy));

/** A bbox holds all minima then all maxima, so x and y appear once in each half. */
const shiftBBox = (bbox: BBox, dx: number, dy: number): BBox => {
  const half = bbox.length / 2;
  return bbox.map((v, i) => (i % half === 0 ? v + dx : i % half === 1 ? v + dy : v));
};

function shiftGeometry(g: Geometry, dx: number, dy: number): Geometry {
  const bbox = g.bbox === undefined ? {} : { bbox: shiftBBox(g.bbox, dx, dy) };
  switch (g.type) {
    case 'Point':
      return { ...g, ...bbox, coordinates: shiftPosition(g.coordinates, dx, dy) };
    case 'MultiPoint':
    case 'LineString':
      return { ...g, ...bbox, coordinates: shiftPositions(g.coordinates, dx, dy) };
    case 'MultiLineString':
    case 'Polygon':
      return { ...g, ...bbox, coordinates: g.coordinates.map((ring) => shiftPositions(ring, dx, dy)) };
    case 'MultiPolygon':
      return {
        ...g,
        ...bbox,
        coordinates: g.coordinates.map((poly) => poly.map((ring) => shiftPositions(ring, dx, dy))),
      };
    case 'GeometryCollection':
      return { ...g, ...bbox, geometries: g.geometries.map((child) => shiftGeometry(child, dx, dy)) };
  }
}

/**
 * Returns a copy of `feature` with every coordinate (and any bbox) moved by `(dx, dy)`,
 * e.g. from tile pixel coordinates to image pixel coordinates. The input is not modified;
 * properties are shared, not copied.
 */
export function translateFeature(feature: Feature, dx: number, dy: number): Feature {
  return {
    ...feature,
    ...(feature.bbox === undefined ? {} : { bbox: shiftBBox(feature.bbox, dx, dy) }),
    geometry: feature.geometry === null ? null : shiftGeometry(feature.geometry, dx, dy),
  };
}

/** Concatenates the features of `collections`, in order, into one new FeatureCollection. */
export function mergeFeatureCollections(collections: readonly FeatureCollection[]): FeatureCollection {
  return { type: 'FeatureCollection', features: collections.flatMap((c) => c.features) };
}
