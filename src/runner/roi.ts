/**
 * The request's region of interest: WKT POLYGON / MULTIPOLYGON → GeoJSON, and → the pixel
 * rectangle to process (OSML §2: tiles cover the ROI's bounding box; features are not clipped).
 */
import { ExtensionError } from '../shared/errors.js';
import type { Bounds, MultiPolygon, Polygon, Position } from '../shared/geojson.js';
import type { Geolocator } from './geolocate.js';

const WHERE = 'regionOfInterest';
/** Points per edge when mapping to pixels: a straight lon/lat edge is curved in a projected image. */
const EDGE_STEPS = 8;
/** Round-off allowance (px) so a vertex exactly on a pixel edge does not pull in the next pixel. */
const SNAP = 1e-6;

/**
 * Parse a WKT `POLYGON` or `MULTIPOLYGON` (case-insensitive; a `Z`, `M` or `ZM` dimension and an
 * EWKT `SRID=…;` prefix are accepted and the extra ordinates dropped). Every ring must be closed
 * and have at least 4 positions, as shapely/GEOS (which OSML uses) require.
 *
 * @throws ExtensionError REQUEST_INVALID (where `regionOfInterest`) listing every problem.
 * @example
 * parseRoi('POLYGON ((10 50, 10.1 50, 10.1 50.1, 10 50))');
 */
export function parseRoi(wkt: string): Polygon | MultiPolygon {
  const fail = (problem: string): never => {
    throw new ExtensionError('REQUEST_INVALID', { where: WHERE, problems: [problem] });
  };
  if (typeof wkt !== 'string') return fail(`expected a WKT string, got ${typeof wkt}`);
  const tokens = tokenize(
    wkt.replace(/^\s*SRID=\d+;/i, (prefix) => ' '.repeat(prefix.length)),
    fail,
  );
  let at = 0;
  const peek = () => tokens[at]?.text;
  const where = () => `character ${tokens[at]?.pos ?? wkt.length + 1}`;
  const expect = (text: string) => {
    const token = tokens[at];
    if (token?.text.toUpperCase() !== text)
      fail(`expected "${text}" at ${where()}, found ${token ? `"${token.text}"` : 'the end'}`);
    at++;
  };
  const type = (peek() ?? '').toUpperCase();
  if (type !== 'POLYGON' && type !== 'MULTIPOLYGON') {
    return fail(`expected a POLYGON or MULTIPOLYGON, got ${type ? `"${type}"` : 'an empty string'}`);
  }
  at++;
  if (/^(Z|M|ZM)$/i.test(peek() ?? '')) at++;
  if ((peek() ?? '').toUpperCase() === 'EMPTY') fail(`the ${type} is EMPTY`);

  const list = <T>(item: () => T): T[] => {
    expect('(');
    const items = [item()];
    while (peek() === ',') {
      at++;
      items.push(item());
    }
    expect(')');
    return items;
  };
  const position = (): Position => {
    const numbers: number[] = [];
    while (tokens[at]?.kind === 'number') numbers.push(Number(tokens[at++]?.text));
    if (numbers.length < 2 || numbers.length > 4) {
      fail(`a position needs 2 to 4 numbers, found ${numbers.length} before ${where()}`);
    }
    return [numbers[0] ?? 0, numbers[1] ?? 0];
  };
  const polygon = () => list(() => list(position));
  const geometry: Polygon | MultiPolygon =
    type === 'POLYGON'
      ? { type: 'Polygon', coordinates: polygon() }
      : { type: 'MultiPolygon', coordinates: list(polygon) };
  if (at < tokens.length) fail(`unexpected "${tokens[at]?.text}" at character ${tokens[at]?.pos}`);

  const problems = polygonsOf(geometry).flatMap((rings, p) => rings.flatMap((ring, r) => ringProblems(ring, p, r)));
  if (problems.length > 0) throw new ExtensionError('REQUEST_INVALID', { where: WHERE, problems });
  return geometry;
}

/**
 * The pixel rectangle covering a region of interest, clipped to the image.
 *
 * With a locator the WKT is read as lon/lat degrees (OSML's convention) and every exterior-ring
 * edge is mapped to pixels (vertices plus intermediate points). Without one (an image with no
 * georeferencing) the WKT coordinates are taken as pixel coordinates (x = column, y = row) — OSML
 * ignores the ROI in that case, this runner honours it. The rectangle is widened to whole pixels
 * (floor/ceil) so that the whole region is processed; OSML rounds instead.
 *
 * @throws ExtensionError REQUEST_INVALID when a coordinate cannot be mapped or the region does not
 *   overlap the image.
 */
export function roiPixelBounds(
  roi: Polygon | MultiPolygon,
  locator: Geolocator | undefined,
  image: { width: number; height: number },
): Bounds {
  const invalid = (problem: string) => new ExtensionError('REQUEST_INVALID', { where: WHERE, problems: [problem] });
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  const add = ([x, y]: [number, number]) => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw invalid('a vertex cannot be mapped to image pixels');
    [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
  };
  for (const [exterior = []] of polygonsOf(roi)) {
    exterior.forEach((p, i) => {
      const [lon, lat] = p;
      if (!locator) return add([lon, lat]);
      if (Math.abs(lon) > 180 || Math.abs(lat) > 90) {
        throw invalid(`vertex ${lon} ${lat} is not lon/lat in degrees; a region of interest is WKT in WGS84 degrees`);
      }
      const next = exterior[i + 1];
      const steps = next ? EDGE_STEPS : 1;
      for (let s = 0; s < steps; s++) {
        const t = s / steps;
        add(locator.toPixel(lon + t * ((next?.[0] ?? lon) - lon), lat + t * ((next?.[1] ?? lat) - lat)));
      }
    });
  }
  const x0 = Math.max(0, Math.floor(minX + SNAP));
  const y0 = Math.max(0, Math.floor(minY + SNAP));
  const x1 = Math.min(image.width, Math.ceil(maxX - SNAP));
  const y1 = Math.min(image.height, Math.ceil(maxY - SNAP));
  if (x1 <= x0 || y1 <= y0) {
    const pixels = [minX, minY, maxX, maxY].map((v) => Math.round(v * 100) / 100).join(', ');
    throw invalid(
      `the region of interest (pixels ${pixels}) does not overlap the ${image.width} x ${image.height} image`,
    );
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

// --- internals ---------------------------------------------------------------------------------

interface Token {
  kind: 'punct' | 'number' | 'word';
  text: string;
  /** 1-based character position, for messages. */
  pos: number;
}

function tokenize(text: string, fail: (problem: string) => never): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:([(),])|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([A-Za-z]+)|(\S))/gy;
  for (let m = pattern.exec(text); m && m[0] !== ''; m = pattern.exec(text)) {
    const pos = m.index + m[0].length - (m[1] ?? m[2] ?? m[3] ?? m[4] ?? '').length + 1;
    if (m[4] !== undefined) fail(`unexpected "${m[4]}" at character ${pos}`);
    const kind = m[1] !== undefined ? 'punct' : m[2] !== undefined ? 'number' : 'word';
    tokens.push({ kind, text: m[1] ?? m[2] ?? m[3] ?? '', pos });
  }
  return tokens;
}

function polygonsOf(geometry: Polygon | MultiPolygon): Position[][][] {
  return geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
}

function ringProblems(ring: Position[], polygon: number, index: number): string[] {
  const name = `${index === 0 ? 'exterior ring' : `hole ${index}`} of polygon ${polygon + 1}`;
  const first = ring[0];
  const last = ring[ring.length - 1];
  const problems: string[] = [];
  if (ring.length < 4) problems.push(`the ${name} has ${ring.length} positions; a ring needs at least 4`);
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) problems.push(`the ${name} is not closed`);
  if (!ring.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])))
    problems.push(`the ${name} has a non-finite number`);
  return problems;
}
