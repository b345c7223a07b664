/**
 * Regions and tiles over the processing area, laid out as OSML's VariableOverlapTilingStrategy does,
 * except that the last window on each axis is shifted back to end at the edge, so no strip of
 * pixels is ever left unprocessed (OSML widens the overlap instead and may skip a few edge pixels).
 */
import type { Bounds } from '../shared/geojson.js';

/** One region and the tiles that cover it, all in full-image pixel coordinates. */
export interface RegionPlan {
  /** The region's rectangle. */
  bounds: Bounds;
  /** Its tiles, row-major. */
  tiles: Bounds[];
}

/** Where every region and tile of one image lies. */
export interface TilingPlan {
  /** The requested overlap between neighbouring tiles (and regions); edge windows may overlap more. */
  overlap: number;
  /** The regions, row-major; each with its tiles, row-major. */
  regions: RegionPlan[];
}

/** The sizes {@link planTiles} works with, all in pixels. */
export interface TilingSizes {
  /** Side of a square region (OSML's `REGION_SIZE`, 10240 by default). */
  regionSize: number;
  /** Side of a square tile (`imageProcessorTileSize`). */
  tileSize: number;
  /** Minimum pixels shared by neighbouring tiles (`imageProcessorTileOverlap`). */
  tileOverlap: number;
}

/** Throws a RangeError naming `name` unless `value` is an integer of at least `min` (and at most `max`). */
function assertInteger(name: string, value: number, min: number, max = Infinity, bound = ''): void {
  if (Number.isInteger(value) && value >= min && value <= max) return;
  const range = max === Infinity ? `>= ${bound || min}` : `from ${min} to ${max}`;
  throw new RangeError(`\`${name}\` must be an integer ${range}; received ${String(value)}`);
}

/**
 * Start offsets of the windows of `size` pixels along an axis of `length` pixels, `overlap` pixels
 * shared between neighbours.
 *
 * Windows step by `size - overlap` while they end before `length`; then one last window ends exactly
 * at `length`, so only the last overlap is wider than asked. No window is clipped and every pixel is
 * covered. When `length <= size` there is one window, `[0]`, and it is `length` pixels long: every
 * window is `Math.min(size, length)` pixels.
 *
 * @example axisOffsets(3000, 1024, 50) // [0, 974, 1948, 1976]
 */
export function axisOffsets(length: number, size: number, overlap: number): number[] {
  if (length <= size) return [0];
  const stride = size - overlap;
  const offsets: number[] = [];
  for (let offset = 0; offset + size < length; offset += stride) offsets.push(offset);
  // Every offset pushed above is < length - size, so this never repeats the previous one.
  offsets.push(length - size);
  return offsets;
}

/** Windows of `size` with `overlap` over `area`, row-major, in the area's (full-image) coordinates. */
function placeWindows(area: Bounds, size: number, overlap: number): Bounds[] {
  const width = Math.min(size, area.width);
  const height = Math.min(size, area.height);
  const columns = axisOffsets(area.width, size, overlap);
  const windows: Bounds[] = [];
  for (const dy of axisOffsets(area.height, size, overlap)) {
    for (const dx of columns) windows.push({ x: area.x + dx, y: area.y + dy, width, height });
  }
  return windows;
}

/**
 * Where regions lie along one axis, as `[offset, length]`: full regions stepping by `size - overlap`,
 * then a last one clipped at the far edge, as OSML clips it, so its tiles continue the same grid
 * instead of repeating a shifted-back region's (at 16384 px, tile 512, that was half again as many
 * tiles). A last region is never narrower than a tile, unless the whole axis is.
 */
function regionSpans(length: number, size: number, tile: number, overlap: number): [number, number][] {
  const spans: [number, number][] = [];
  for (let offset = 0; ; offset += size - overlap) {
    if (offset + size >= length) {
      const last = Math.max(length - offset, Math.min(tile, length));
      spans.push([length - last, last]);
      return spans;
    }
    spans.push([offset, size]);
  }
}

/**
 * The tiles of one region: full `tileSize` windows (the last one per axis shifted back to the edge),
 * row by row. A region handler calls this; {@link planTiles} lays out whole images.
 *
 * @throws RangeError as {@link planTiles} does.
 */
export function tileRegion(region: Bounds, tileSize: number, tileOverlap: number): Bounds[] {
  assertInteger('tileSize', tileSize, 1);
  assertInteger('tileOverlap', tileOverlap, 0, tileSize - 1);
  assertInteger('area.width', region.width, 1);
  assertInteger('area.height', region.height, 1);
  return placeWindows(region, tileSize, tileOverlap);
}

/**
 * Lays out the regions and tiles that cover `area`.
 *
 * Regions are windows of `regionSize` (rounded down to whole tile strides) that overlap by
 * `tileOverlap`, the last ones clipped at the far edge, as OSML's are; each region is then tiled on
 * its own. Every tile is `tileSize` square unless the area itself is smaller, in which
 * case the one tile along that axis is the area's length.
 *
 * @param area - The processing bounds: the whole image, or an ROI's pixel bbox clipped to the image.
 * @throws RangeError naming the option and the value received, when a size is not an integer, when
 *   `tileSize < 1`, `tileOverlap` is outside `[0, tileSize)`, `regionSize < tileSize`, or `area` is empty.
 * @example planTiles({ x: 0, y: 0, width: 3000, height: 1000 }, { regionSize: 10240, tileSize: 1024, tileOverlap: 50 })
 */
export function planTiles(area: Bounds, options: TilingSizes): TilingPlan {
  const { regionSize, tileSize, tileOverlap } = options;
  assertInteger('tileSize', tileSize, 1);
  assertInteger('tileOverlap', tileOverlap, 0, tileSize - 1);
  assertInteger('regionSize', regionSize, tileSize, Infinity, `tileSize (${tileSize})`);
  assertInteger('area.x', area.x, 0);
  assertInteger('area.y', area.y, 0);
  assertInteger('area.width', area.width, 1);
  assertInteger('area.height', area.height, 1);

  // As OSML does, a region holds a whole number of tile strides, so its tiles sit on one grid.
  const stride = tileSize - tileOverlap;
  const fullTiles = stride * Math.floor((regionSize - tileOverlap) / stride) + tileOverlap;
  const columns = regionSpans(area.width, fullTiles, tileSize, tileOverlap);
  const windows = regionSpans(area.height, fullTiles, tileSize, tileOverlap).flatMap(([y, height]) =>
    columns.map(([x, width]) => ({ x: area.x + x, y: area.y + y, width, height })),
  );
  const regions = windows.map((bounds) => ({
    bounds,
    tiles: placeWindows(bounds, tileSize, tileOverlap),
  }));
  return { overlap: tileOverlap, regions };
}

/**
 * Names a tile for messages and logs, e.g. `tile 3/12 (x=974 y=0 1024x1024)`.
 *
 * @param index - The tile's 1-based number, shown as given (pass `i + 1` for an array position `i`).
 * @param total - How many tiles there are.
 */
export function describeTile(index: number, total: number, bounds: Bounds): string {
  return `tile ${index}/${total} (x=${bounds.x} y=${bounds.y} ${bounds.width}x${bounds.height})`;
}
