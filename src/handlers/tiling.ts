import type { Bounds, TilingOptions } from './types.js';
import { DEFAULT_TILING } from './types.js';

/** Renders a received value for an error message, so `"5"` and `5` read differently. */
const show = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/**
 * Throws a RangeError unless `value` is an integer in `[min, max]`.
 *
 * @param name - The argument or field name, used in the message.
 */
export function assertIntegerInRange(name: string, value: unknown, min: number, max = Infinity): void {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return;
  const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
  throw new RangeError(`${name} must be an integer ${range}; received ${show(value)}`);
}

/** Validates tile/region dimensions; the names let callers report their own field names. */
export function assertTileSizes(sizeName: string, size: number, overlapName: string, overlap: number): void {
  assertIntegerInRange(sizeName, size, 1);
  assertIntegerInRange(overlapName, overlap, 0, size - 1);
}

/** Start offsets along one axis of `length` pixels. */
function offsets(length: number, size: number, stride: number): number[] {
  const result: number[] = [];
  // Stop once a tile reaches the far edge: any later tile would lie inside this one.
  for (let offset = 0; ; offset += stride) {
    result.push(offset);
    if (offset + size >= length) return result;
  }
}

/**
 * Splits `area` into tiles of `size` x `size` pixels, `overlap` pixels shared between
 * neighbours, clipped at the area's right and bottom edges.
 *
 * Tiles are returned row by row, left to right, in the area's own coordinate space.
 * Together they cover the area exactly; none lies entirely inside its predecessor.
 *
 * @throws RangeError if `area` is not integer with positive size, `size` is not a
 *   positive integer, or `overlap` is not an integer in `[0, size)`.
 */
export function splitIntoTiles(area: Bounds, size: number, overlap: number): Bounds[] {
  assertIntegerInRange('area.x', area.x, 0);
  assertIntegerInRange('area.y', area.y, 0);
  assertIntegerInRange('area.width', area.width, 1);
  assertIntegerInRange('area.height', area.height, 1);
  assertTileSizes('size', size, 'overlap', overlap);

  const stride = size - overlap;
  const tiles: Bounds[] = [];
  for (const dy of offsets(area.height, size, stride)) {
    for (const dx of offsets(area.width, size, stride)) {
      tiles.push({
        x: area.x + dx,
        y: area.y + dy,
        width: Math.min(size, area.width - dx),
        height: Math.min(size, area.height - dy),
      });
    }
  }
  return tiles;
}

/** {@link DEFAULT_TILING} overlaid with the options that are set (undefined ones are ignored). */
export function resolveTiling(overrides: Partial<TilingOptions> = {}): TilingOptions {
  return {
    regionSize: overrides.regionSize ?? DEFAULT_TILING.regionSize,
    tileSize: overrides.tileSize ?? DEFAULT_TILING.tileSize,
    tileOverlap: overrides.tileOverlap ?? DEFAULT_TILING.tileOverlap,
  };
}
