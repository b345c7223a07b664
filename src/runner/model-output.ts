/**
 * Reads a model's answer for one tile the way OSML's tile worker does: a GeoJSON FeatureCollection
 * whose features carry their shape in tile pixels, in the new (`imageGeometry`, `imageBBox`,
 * `featureClasses`) or the deprecated (`geom_imcoords`, `bounds_imcoords`, `feature_types`, ...) style.
 */
import sjson from 'secure-json-parse';
import { ExtensionError } from '../shared/errors.js';
import type { BBox, Bounds, Feature, Geometry, Polygon, Position } from '../shared/geojson.js';

/** The tile an answer belongs to, and the names every message about it uses. */
export interface ModelOutputContext {
  /** The tile, in full-image pixels; its corner is added to every pixel coordinate. */
  tile: Bounds;
  /** The tile as messages name it (see `describeTile`). */
  tileName: string;
  /** The model endpoint that answered. */
  endpoint: string;
}

/** One entry of `properties.featureClasses`. */
export interface FeatureClass {
  iri: string;
  score: number;
}

/** Model properties OSML deletes from its output once they are converted. */
const DEPRECATED = new Set(['bounds_imcoords', 'geom_imcoords', 'feature_types', 'detection_score', 'image_id']);
/** Nesting depth of `coordinates` per geometry type (0: one position). */
const DEPTH: ReadonlyMap<string, number> = new Map(
  Object.entries({ Point: 0, MultiPoint: 1, LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3 }),
);
const EXCERPT = 200;

/** What is wrong with the answer; turned into MODEL_OUTPUT_INVALID once, where the context is known. */
class Problem extends Error {}

type Props = Record<string, unknown>;
/** Running `[minX, minY, maxX, maxY]` of the positions read so far. */
type Extent = [number, number, number, number];

const isObject = (value: unknown): value is Props =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const present = (value: unknown): boolean => value !== undefined && value !== null;
const isClass = (value: unknown): value is FeatureClass =>
  isObject(value) && typeof value['iri'] === 'string' && isFiniteNumber(value['score']);

/** At most {@link EXCERPT} characters of `text`, on one line. */
function excerpt(text: string): string {
  const head = text.slice(0, EXCERPT * 2);
  const line = head.replace(/\s+/g, ' ').trim();
  return line.length <= EXCERPT ? line : `${line.slice(0, EXCERPT - 1)}…`;
}

/** Names a received value for a message: `an array`, `an object with type "Feature"`, `a string`. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isObject(value)) {
    return typeof value['type'] === 'string'
      ? `an object with type ${JSON.stringify(value['type'])}`
      : 'an object without a type';
  }
  return `a ${typeof value} (${excerpt(String(value))})`;
}

/** Reads one position, shifted by the tile corner, and widens `extent` to it. */
function readPosition(value: unknown, at: string, shift: Bounds, extent: Extent): Position {
  if (!Array.isArray(value) || value.length < 2 || !value.every(isFiniteNumber)) {
    throw new Problem(`${at} with a position that is not 2 or more finite numbers (${excerpt(JSON.stringify(value))})`);
  }
  const [x, y, ...rest] = value as number[] as [number, number, ...number[]];
  const position: Position = [x + shift.x, y + shift.y, ...rest];
  extent[0] = Math.min(extent[0], position[0]);
  extent[1] = Math.min(extent[1], position[1]);
  extent[2] = Math.max(extent[2], position[0]);
  extent[3] = Math.max(extent[3], position[1]);
  return position;
}

/** Reads `coordinates` nested `depth` arrays deep into a shifted copy. */
function readCoordinates(value: unknown, depth: number, at: string, shift: Bounds, extent: Extent): unknown {
  if (depth === 0) return readPosition(value, at, shift, extent);
  if (!Array.isArray(value)) throw new Problem(`${at} whose coordinates are not nested arrays`);
  return value.map((item) => readCoordinates(item, depth - 1, at, shift, extent));
}

/** Reads any GeoJSON geometry into a shifted copy (foreign members and a tile-pixel bbox are dropped). */
function readGeometry(value: unknown, at: string, shift: Bounds, extent: Extent): Geometry {
  if (!isObject(value)) throw new Problem(`${at} that is ${describeValue(value)}, not a geometry`);
  const type = value['type'];
  if (type === 'GeometryCollection') {
    const members = value['geometries'];
    if (!Array.isArray(members)) throw new Problem(`${at} that is a GeometryCollection without a geometries array`);
    return { type, geometries: members.map((member) => readGeometry(member, at, shift, extent)) };
  }
  const depth = typeof type === 'string' ? DEPTH.get(type) : undefined;
  if (depth === undefined) {
    // A type the model left out is named as missing, not as an empty string.
    throw new Problem(`${at} of unknown geometry type ${excerpt(JSON.stringify(type) ?? 'missing')}`);
  }
  return { type, coordinates: readCoordinates(value['coordinates'], depth, at, shift, extent) } as Geometry;
}

/** Reads `[minx, miny, maxx, maxy]`, shifted by the tile corner. */
function readBox(value: unknown, at: string, shift: Bounds): BBox {
  if (!Array.isArray(value) || value.length !== 4 || !value.every(isFiniteNumber)) {
    throw new Problem(
      `${at} that is not [minx, miny, maxx, maxy] of finite numbers (${excerpt(JSON.stringify(value))})`,
    );
  }
  const [minX, minY, maxX, maxY] = value as [number, number, number, number];
  if (minX > maxX || minY > maxY)
    throw new Problem(`${at} whose minimum exceeds its maximum (${JSON.stringify(value)})`);
  return [minX + shift.x, minY + shift.y, maxX + shift.x, maxY + shift.y];
}

/** The closed polygon of a box: `[[minx,miny],[maxx,miny],[maxx,maxy],[minx,maxy],[minx,miny]]`. */
function boxPolygon([minX = 0, minY = 0, maxX = 0, maxY = 0]: BBox): Polygon {
  const xs = [minX, maxX, maxX, minX, minX];
  const ys = [minY, minY, maxY, maxY, minY];
  return { type: 'Polygon', coordinates: [xs.map((x, i): Position => [x, ys[i] ?? minY])] };
}

/** Reads a deprecated `geom_imcoords` exterior ring into a (closed) Polygon. */
function readRing(value: unknown, at: string, shift: Bounds, extent: Extent): Polygon {
  if (!Array.isArray(value) || value.length < 3) throw new Problem(`${at} that is not a ring of 3 or more positions`);
  const ring = value.map((item) => readPosition(item, at, shift, extent));
  const [first, last] = [ring[0] as Position, ring.at(-1) as Position];
  if (first[0] !== last[0] || first[1] !== last[1]) ring.push([...first]);
  return { type: 'Polygon', coordinates: [ring] };
}

/** Finds the feature's pixel shape with OSML's precedence, and its box; both in full-image pixels. */
function readPixelShape(props: Props, at: string, shift: Bounds): { geometry: Geometry; box: BBox } {
  const extent: Extent = [Infinity, Infinity, -Infinity, -Infinity];
  const box = present(props['imageBBox'])
    ? readBox(props['imageBBox'], `${at} that has an imageBBox`, shift)
    : undefined;
  let geometry: Geometry | undefined;
  const detection = props['detection'];
  if (present(props['imageGeometry'])) {
    geometry = readGeometry(props['imageGeometry'], `${at} that has an imageGeometry`, shift, extent);
  } else if (box !== undefined) {
    return { geometry: boxPolygon(box), box };
  } else if (present(props['geom_imcoords'])) {
    geometry = readRing(props['geom_imcoords'], `${at} that has a geom_imcoords`, shift, extent);
  } else if (isObject(detection) && present(detection['pixelCoordinates'])) {
    const shape = { type: detection['type'], coordinates: detection['pixelCoordinates'] };
    geometry = readGeometry(shape, `${at} that has a detection.pixelCoordinates`, shift, extent);
  } else if (present(props['bounds_imcoords'])) {
    const bounds = readBox(props['bounds_imcoords'], `${at} that has a bounds_imcoords`, shift);
    return { geometry: boxPolygon(bounds), box: bounds };
  } else {
    throw new Problem(
      `${at} that has no pixel geometry (imageGeometry, imageBBox, geom_imcoords, detection, bounds_imcoords)`,
    );
  }
  if (extent[0] > extent[2]) throw new Problem(`${at} that has a pixel geometry without any position`);
  return { geometry, box: box ?? extent };
}

/** `featureClasses` as the model gave them, else converted from `feature_types` or `detection_score`. */
function readClasses(props: Props, at: string): FeatureClass[] | undefined {
  const given = props['featureClasses'];
  if (present(given)) {
    if (!Array.isArray(given) || !given.every(isClass)) {
      throw new Problem(`${at} that has featureClasses that are not [{ iri: string, score: number }]`);
    }
    return given.map((entry) => ({ ...entry }));
  }
  const types = props['feature_types'];
  if (present(types)) {
    if (!isObject(types) || !Object.values(types).every(isFiniteNumber)) {
      throw new Problem(`${at} that has feature_types that are not { iri: score }`);
    }
    return Object.entries(types).map(([iri, score]) => ({ iri, score: score as number }));
  }
  const score = props['detection_score'];
  if (present(score)) {
    if (!isFiniteNumber(score)) throw new Problem(`${at} that has a detection_score that is not a finite number`);
    return [{ iri: 'unknown', score }];
  }
  return undefined;
}

/** Converts one model feature into a new runner feature in full-image pixels. */
function readFeature(value: unknown, index: number, shift: Bounds): Feature {
  const at = `features[${index}]`;
  if (!isObject(value) || value['type'] !== 'Feature')
    throw new Problem(`${at} that is ${describeValue(value)}, not a Feature`);
  const props = value['properties'] ?? {};
  if (!isObject(props)) throw new Problem(`${at} whose properties are ${describeValue(props)}, not an object`);
  const { geometry, box } = readPixelShape(props, at, shift);
  const classes = readClasses(props, at);
  // fromEntries defines keys, so a "__proto__" key from the model cannot reach a prototype.
  const properties: Props = Object.fromEntries(Object.entries(props).filter(([key]) => !DEPRECATED.has(key)));
  properties['imageGeometry'] = geometry;
  properties['imageBBox'] = box;
  if (classes !== undefined) properties['featureClasses'] = classes;
  const id = value['id'];
  const keepId = typeof id === 'string' || isFiniteNumber(id);
  return { type: 'Feature', ...(keepId ? { id } : {}), geometry: null, properties };
}

/**
 * Reads a model's answer for one tile into features in full-image pixel coordinates.
 *
 * Each feature's pixel shape is found with OSML's precedence (`imageGeometry` > `imageBBox` >
 * `geom_imcoords` > `detection.pixelCoordinates` > `bounds_imcoords`). Output features are new
 * objects with `geometry: null` (geolocation comes later), the model's `id`, and its properties minus
 * the deprecated ones, plus `imageGeometry` and `imageBBox` (always) and `featureClasses` (when the
 * model gave classes, `feature_types`, or a `detection_score`, which becomes class `unknown`).
 *
 * @param text - The body the model answered with.
 * @throws ExtensionError MODEL_OUTPUT_INVALID naming the tile and endpoint when the body is not JSON,
 *   not a FeatureCollection, or any feature lacks a valid pixel geometry: like OSML, one bad feature
 *   fails the whole tile.
 */
export function readModelOutput(text: string, context: ModelOutputContext): Feature[] {
  try {
    let body: unknown;
    try {
      body = sjson.parse(text, { protoAction: 'remove', constructorAction: 'remove' });
    } catch {
      throw new Problem(text.trim() === '' ? 'an empty body' : `a body that is not JSON: ${excerpt(text)}`);
    }
    if (!isObject(body) || body['type'] !== 'FeatureCollection') {
      throw new Problem(`${describeValue(body)}, not a FeatureCollection`);
    }
    const features = body['features'];
    if (!Array.isArray(features)) throw new Problem(`a FeatureCollection whose features is ${describeValue(features)}`);
    return features.map((feature, index) => readFeature(feature, index, context.tile));
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    throw new ExtensionError('MODEL_OUTPUT_INVALID', {
      tile: context.tileName,
      endpoint: context.endpoint,
      problem: error.message,
    });
  }
}

/**
 * Position in `properties.featureClasses` of the highest-scoring entry (the first among equals), or
 * -1 when the feature has none.
 */
export function findTopClassIndex(feature: Feature): number {
  const classes = feature.properties?.['featureClasses'];
  if (!Array.isArray(classes)) return -1;
  let best = -1;
  let bestScore = -Infinity;
  classes.forEach((entry: unknown, index) => {
    if (isClass(entry) && entry.score > bestScore) [best, bestScore] = [index, entry.score];
  });
  return best;
}

/**
 * The feature's class and score as OSML's de-duplication sees them: the highest-scoring entry of
 * `featureClasses`, or `{ iri: '', score: -1 }` when there is none.
 */
export function topClass(feature: Feature): FeatureClass {
  const entry = feature.properties?.['featureClasses'];
  const top = Array.isArray(entry) ? (entry[findTopClassIndex(feature)] as FeatureClass | undefined) : undefined;
  return top === undefined ? { iri: '', score: -1 } : { iri: top.iri, score: top.score };
}
