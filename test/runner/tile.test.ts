import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bounds } from '../../src/shared/geojson.js';
import { axisOffsets, describeTile, planTiles, tileRegion, type TilingPlan } from '../../src/runner/tile.js';

const image = (width: number, height: number): Bounds => ({ x: 0, y: 0, width, height });
const allTiles = (plan: TilingPlan): Bounds[] => plan.regions.flatMap((region) => region.tiles);
const inside = (inner: Bounds, outer: Bounds): boolean =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;

describe('axisOffsets', () => {
  it('steps by size - overlap, then ends the last window exactly at the edge', () => {
    expect(axisOffsets(3000, 1024, 50)).toEqual([0, 974, 1948, 1976]);
  });

  it('gives one window when the length equals the size', () => {
    expect(axisOffsets(1024, 1024, 50)).toEqual([0]);
  });

  it('gives one window when the length is smaller than the size', () => {
    expect(axisOffsets(1000, 1024, 50)).toEqual([0]);
  });

  it('shifts a second window back by one pixel for a length one past the size', () => {
    expect(axisOffsets(1025, 1024, 50)).toEqual([0, 1]);
  });

  it('does not repeat the last offset when the stride lands exactly on the edge', () => {
    expect(axisOffsets(2022, 1024, 26)).toEqual([0, 998]);
  });
});

describe('planTiles', () => {
  const sizes = { regionSize: 10240, tileSize: 1024, tileOverlap: 50 };

  it('makes an image smaller than a tile one smaller tile', () => {
    const plan = planTiles(image(1000, 800), sizes);
    expect(plan.regions).toEqual([{ bounds: image(1000, 800), tiles: [image(1000, 800)] }]);
  });

  it('lays out full tiles row-major in full-image coordinates', () => {
    const plan = planTiles({ x: 100, y: 200, width: 3000, height: 1025 }, sizes);
    expect(plan.overlap).toBe(50);
    expect(allTiles(plan).map((t) => [t.x, t.y])).toEqual([
      [100, 200],
      [1074, 200],
      [2048, 200],
      [2076, 200],
      [100, 201],
      [1074, 201],
      [2048, 201],
      [2076, 201],
    ]);
    expect(allTiles(plan).every((t) => t.width === 1024 && t.height === 1024)).toBe(true);
  });

  it('tiles 8192x8192 with 512/32 in one default region of 17x17 tiles', () => {
    const plan = planTiles(image(8192, 8192), { regionSize: 10240, tileSize: 512, tileOverlap: 32 });
    expect(plan.regions).toHaveLength(1);
    expect(plan.regions[0]?.bounds).toEqual(image(8192, 8192));
    // Stride 480: offsets 0..7680 (17 of them) reach 8192 exactly, so no shifted-back window.
    expect(axisOffsets(8192, 512, 32)).toHaveLength(17);
    expect(allTiles(plan)).toHaveLength(17 * 17);
  });

  it('overlaps regions by the tile overlap and tiles each region on its own', () => {
    // Region 2048 holds two whole tile strides (974) plus the overlap: 1998, as OSML sizes it.
    const plan = planTiles(image(5000, 1000), { regionSize: 2048, tileSize: 1024, tileOverlap: 50 });
    // The last region is clipped at the edge (as OSML clips it), so its tiles continue the grid.
    expect(plan.regions.map((r) => r.bounds.width)).toEqual([1998, 1998, 1104]);
    expect(plan.regions.map((r) => r.bounds.x)).toEqual([0, 1948, 3896]);
    expect(plan.regions[1]?.tiles.map((t) => t.x)).toEqual([1948, 2922]);
    expect(plan.regions[2]?.tiles.map((t) => t.x)).toEqual([3896, 3976]);
  });

  it('sizes regions to whole tile strides, so no region needs a shifted-back tile inside the image', () => {
    const plan = planTiles(image(20000, 1024), { regionSize: 10240, tileSize: 1024, tileOverlap: 50 });
    expect(plan.regions[0]?.bounds.width).toBe(9790);
    expect(plan.regions[0]?.tiles.map((t) => t.x)).toEqual([0, 974, 1948, 2922, 3896, 4870, 5844, 6818, 7792, 8766]);
  });

  it.each([
    ['tileSize', { regionSize: 10240, tileSize: 0, tileOverlap: 0 }],
    ['tileSize', { regionSize: 10240, tileSize: 512.5, tileOverlap: 0 }],
    ['tileOverlap', { regionSize: 10240, tileSize: 512, tileOverlap: 512 }],
    ['tileOverlap', { regionSize: 10240, tileSize: 512, tileOverlap: -1 }],
    ['regionSize', { regionSize: 256, tileSize: 512, tileOverlap: 0 }],
    ['regionSize', { regionSize: Number.NaN, tileSize: 512, tileOverlap: 0 }],
  ])('rejects a bad %s with a RangeError naming it and the value', (name, options) => {
    const value = String(options[name as keyof typeof options]);
    expect(() => planTiles(image(100, 100), options)).toThrow(RangeError);
    expect(() => planTiles(image(100, 100), options)).toThrow(new RegExp(`\`${name}\`.*received ${value}$`));
  });

  it('rejects an empty area', () => {
    expect(() => planTiles(image(0, 100), sizes)).toThrow(/`area.width`/);
    expect(() => planTiles(image(100, 0), sizes)).toThrow(/`area.height`/);
  });

  it.each([
    [{ tileSize: 0 }, '`tileSize` must be an integer >= 1; received 0'],
    [{ tileOverlap: 1024 }, '`tileOverlap` must be an integer from 0 to 1023; received 1024'],
    [{ tileOverlap: -1 }, '`tileOverlap` must be an integer from 0 to 1023; received -1'],
    [{ regionSize: 1000 }, '`regionSize` must be an integer >= tileSize (1024); received 1000'],
    [{ x: -1 }, '`area.x` must be an integer >= 0; received -1'],
    [{ y: 0.5 }, '`area.y` must be an integer >= 0; received 0.5'],
    [{ width: 0 }, '`area.width` must be an integer >= 1; received 0'],
    [{ height: -3 }, '`area.height` must be an integer >= 1; received -3'],
  ])('says what range a bad size must be in: %j', (change, message) => {
    const { x = 0, y = 0, width = 100, height = 100, ...options } = change as Partial<Bounds & typeof sizes>;
    expect(() => planTiles({ x, y, width, height }, { ...sizes, ...options })).toThrow(new RangeError(message));
  });
});

describe('tileRegion', () => {
  it('tiles one region as planTiles tiles it', () => {
    const plan = planTiles(image(3000, 1000), { regionSize: 2048, tileSize: 1024, tileOverlap: 50 });
    for (const region of plan.regions) expect(tileRegion(region.bounds, 1024, 50)).toEqual(region.tiles);
  });

  it.each([
    [0, 0, 10, 10, '`tileSize` must be an integer >= 1; received 0'],
    [512, 512, 10, 10, '`tileOverlap` must be an integer from 0 to 511; received 512'],
    [512, 511, 0, 10, '`area.width` must be an integer >= 1; received 0'],
    [512, 511, 10, 0, '`area.height` must be an integer >= 1; received 0'],
  ])('refuses tile %i, overlap %i over %ix%i, naming what and why', (tileSize, overlap, width, height, message) => {
    expect(() => tileRegion({ x: 0, y: 0, width, height }, tileSize, overlap)).toThrow(new RangeError(message));
  });
});

describe('planTiles properties', () => {
  const cases = fc
    .record({
      x: fc.integer({ min: 0, max: 50 }),
      y: fc.integer({ min: 0, max: 50 }),
      width: fc.integer({ min: 1, max: 400 }),
      height: fc.integer({ min: 1, max: 400 }),
      tileSize: fc.integer({ min: 1, max: 120 }),
      overlapFraction: fc.double({ min: 0, max: 0.99, noNaN: true }),
      regionFactor: fc.integer({ min: 1, max: 4 }),
      regionExtra: fc.integer({ min: 0, max: 60 }),
    })
    .map((c) => {
      const tileOverlap = Math.min(c.tileSize - 1, Math.floor(c.tileSize * c.overlapFraction));
      const options = { tileSize: c.tileSize, tileOverlap, regionSize: c.tileSize * c.regionFactor + c.regionExtra };
      return { area: { x: c.x, y: c.y, width: c.width, height: c.height }, options };
    });

  it('covers every pixel of the area, and nothing outside it', () => {
    fc.assert(
      fc.property(cases, ({ area, options }) => {
        const covered = new Uint8Array(area.width * area.height);
        const tiles = allTiles(planTiles(area, options));
        expect(tiles.every((t) => inside(t, area))).toBe(true);
        for (const t of tiles) {
          for (let y = t.y - area.y; y < t.y - area.y + t.height; y++) {
            covered.fill(1, y * area.width + t.x - area.x, y * area.width + t.x - area.x + t.width);
          }
        }
        expect(covered.every((c) => c === 1)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('makes every tile full-size along each axis the area is at least a tile long', () => {
    fc.assert(
      fc.property(cases, ({ area, options }) => {
        const width = Math.min(options.tileSize, area.width);
        const height = Math.min(options.tileSize, area.height);
        expect(allTiles(planTiles(area, options)).every((t) => t.width === width && t.height === height)).toBe(true);
      }),
    );
  });

  it('never makes a region larger than regionSize; every region but the last on an axis holds whole tile strides', () => {
    fc.assert(
      fc.property(cases, ({ area, options }) => {
        const stride = options.tileSize - options.tileOverlap;
        for (const { bounds } of planTiles(area, options).regions) {
          expect(Math.max(bounds.width, bounds.height)).toBeLessThanOrEqual(options.regionSize);
          if (bounds.x + bounds.width < area.x + area.width)
            expect((bounds.width - options.tileOverlap) % stride).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
    // A case the random search may miss: 250 px regions of 100 px tiles overlapping by 20 hold 2 strides (180 px).
    const plan = planTiles(image(1000, 100), { regionSize: 250, tileSize: 100, tileOverlap: 20 });
    expect(plan.regions[0]?.bounds.width).toBe(180);
  });

  it('keeps tiles inside their region, and regions inside the area', () => {
    fc.assert(
      fc.property(cases, ({ area, options }) => {
        for (const region of planTiles(area, options).regions) {
          expect(inside(region.bounds, area)).toBe(true);
          expect(region.tiles.every((t) => inside(t, region.bounds))).toBe(true);
        }
      }),
    );
  });

  it('overlaps consecutive windows by at least the requested overlap, without repeats', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 600 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (length, size, fraction) => {
          const overlap = Math.min(size - 1, Math.floor(size * fraction));
          const offsets = axisOffsets(length, size, overlap);
          const window = Math.min(size, length);
          for (let i = 1; i < offsets.length; i++) {
            const step = (offsets[i] ?? 0) - (offsets[i - 1] ?? 0);
            expect(step).toBeGreaterThan(0);
            expect(window - step).toBeGreaterThanOrEqual(overlap);
          }
          expect(offsets[0]).toBe(0);
          expect((offsets.at(-1) ?? 0) + window).toBe(length);
        },
      ),
    );
  });

  it('overlaps neighbouring regions by at least the tile overlap', () => {
    fc.assert(
      fc.property(cases, ({ area, options }) => {
        const regions = planTiles(area, options).regions.map((r) => r.bounds);
        const columns = [...new Set(regions.map((r) => r.x))];
        const rows = [...new Set(regions.map((r) => r.y))];
        const width = regions[0]?.width ?? 0;
        const height = regions[0]?.height ?? 0;
        for (let i = 1; i < columns.length; i++) {
          expect((columns[i - 1] ?? 0) + width - (columns[i] ?? 0)).toBeGreaterThanOrEqual(options.tileOverlap);
        }
        for (let i = 1; i < rows.length; i++) {
          expect((rows[i - 1] ?? 0) + height - (rows[i] ?? 0)).toBeGreaterThanOrEqual(options.tileOverlap);
        }
      }),
    );
  });
});

describe('describeTile', () => {
  it('names the tile by its 1-based number, position and size', () => {
    expect(describeTile(3, 12, { x: 974, y: 0, width: 1024, height: 1024 })).toBe('tile 3/12 (x=974 y=0 1024x1024)');
  });
});

describe('planTiles: the last region', () => {
  it('is clipped, not shifted back over its neighbour: 16384² with tile 512 needs one grid of tiles', () => {
    const plan = planTiles(image(16384, 16384), { regionSize: 10240, tileSize: 512, tileOverlap: 32 });
    // 34 tile columns: 33 on the 480-pixel grid and one shifted back to the edge, per region row.
    expect(new Set(allTiles(plan).map((t) => `${t.x},${t.y}`)).size).toBe(allTiles(plan).length);
    expect(allTiles(plan).length).toBeLessThanOrEqual(35 * 35);
  });

  it('is never narrower than a tile when the image is wider than one', () => {
    const plan = planTiles(image(1100, 600), { regionSize: 1024, tileSize: 1024, tileOverlap: 50 });
    expect(plan.regions.map((r) => [r.bounds.x, r.bounds.width])).toEqual([
      [0, 1024],
      [76, 1024],
    ]);
  });
});
