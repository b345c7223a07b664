/**
 * Test helper: write small 8-bit GeoTIFFs on the fly, without GDAL.
 *
 * A minimal baseline TIFF writer (classic little-endian TIFF, chunky/PIXEL interleave, strips,
 * uncompressed or DEFLATE) plus the GeoTIFF tags ModelPixelScale (33550), ModelTiepoint (33922),
 * ModelTransformation (34264) and GeoKeyDirectory (34735) with GTModelTypeGeoKey (1024),
 * GTRasterTypeGeoKey (1025) and GeographicTypeGeoKey (2048) or ProjectedCSTypeGeoKey (3072).
 *
 * Why not geotiff.js `writeArrayBuffer`: it writes ModelTransformation fine, but it cannot write a
 * TIFF without georeferencing (it falls back to a whole-globe EPSG:4326 tiepoint), writes one
 * uncompressed strip only, and has no compression. This writer is small and fully controlled.
 *
 * Checked against GDAL 3.6.2 (gdalinfo/gdaltransform), libtiff's tiffinfo, geotiff.js 3.0.5 and
 * sharp 0.35: test/fixtures/imagery/make-oracle.mjs regenerates oracle.json from this helper's
 * output and cross-checks GDAL's reading of it against the affine map the options describe.
 *
 * Pixel semantics: `squares[i]` covers columns [x, x + size) and rows [y, y + size), clipped to the
 * image. In GDAL pixel/line coordinates (0,0 = top-left corner of the top-left pixel) the square's
 * centre is (x + size / 2, y + size / 2): see `squareCentre`.
 *
 * Reading back with sharp 0.35: a 1-band file comes out of `.raw()` as 3 channels (sharp converts
 * b-w to sRGB) unless you add `.extractChannel(0)` or `.toColourspace('b-w')`.
 *
 * No vitest import here: make-oracle.mjs loads this file through jiti outside the test runner.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

export type Tiepoint = [i: number, j: number, k: number, x: number, y: number, z: number];

export type GeoRef =
  | {
      kind: 'tiepoint';
      /** ModelTiepointTag: raster (i, j, k) maps to model (x, y, z). */
      tiepoint: Tiepoint;
      /** ModelPixelScaleTag [sx, sy, sz]; sy is positive for a north-up image (GeoTIFF convention). */
      pixelScale: [sx: number, sy: number, sz: number];
      epsg: number;
      /** Default: EPSG 4000-4999 is geographic, anything else projected. */
      modelType?: 'geographic' | 'projected';
    }
  | {
      kind: 'transformation';
      /** ModelTransformationTag, 4x4 row-major: x = m[0]*i + m[1]*j + m[3], y = m[4]*i + m[5]*j + m[7]. */
      matrix: number[];
      epsg: number;
      modelType?: 'geographic' | 'projected';
    }
  | { kind: 'none' };

export interface Square {
  /** Left column of the square (pixel index). */
  x: number;
  /** Top row of the square (pixel index). */
  y: number;
  /** Side in pixels. */
  size: number;
  /** Value for every band, or one value per band. */
  value: number | number[];
}

export interface WriteGeoTiffOptions {
  width: number;
  height: number;
  /** 1 = MinIsBlack grey, 3 = RGB. Default 1. */
  bands?: 1 | 3;
  /** Background value for every band, 0-255. Default 0. */
  background?: number;
  squares?: Square[];
  georef: GeoRef;
  /** GTRasterTypeGeoKey = RasterPixelIsPoint (2) instead of RasterPixelIsArea (1). Default false. */
  pixelIsPoint?: boolean;
  /** Default 'deflate' (TIFF Compression 8, zlib stream, no predictor). */
  compression?: 'none' | 'deflate';
  /** Default: as many rows as fit in 64 KiB (at least 1). */
  rowsPerStrip?: number;
}

export interface WrittenGeoTiff {
  file: string;
  width: number;
  height: number;
  bands: 1 | 3;
  bytes: number;
}

/** The centre of a planted square in GDAL pixel/line coordinates (pixel-corner based). */
export function squareCentre(square: Square): [number, number] {
  return [square.x + square.size / 2, square.y + square.size / 2];
}

/** Whether an EPSG code is treated as geographic (GTModelTypeGeoKey 2) by default. */
export function isGeographicEpsg(epsg: number): boolean {
  return epsg >= 4000 && epsg < 5000;
}

/** The pixels `writeGeoTiff` writes: row-major, band-interleaved (chunky), 8-bit. */
export function renderPixels(opts: WriteGeoTiffOptions): Uint8Array {
  const { width, height } = opts;
  const bands = opts.bands ?? 1;
  if (bands !== 1 && bands !== 3) throw new Error(`bands must be 1 or 3, got ${String(bands)}`);
  checkSize(width, height);
  const pixels = new Uint8Array(width * height * bands).fill(byte(opts.background ?? 0, 'background'));
  for (const sq of opts.squares ?? []) {
    const values = Array.isArray(sq.value) ? sq.value : new Array<number>(bands).fill(sq.value);
    if (values.length !== bands) throw new Error(`square value needs ${bands} entries, got ${values.length}`);
    const v = values.map((n) => byte(n, 'square value'));
    const x0 = Math.max(0, Math.floor(sq.x));
    const y0 = Math.max(0, Math.floor(sq.y));
    const x1 = Math.min(width, Math.floor(sq.x + sq.size));
    const y1 = Math.min(height, Math.floor(sq.y + sq.size));
    for (let row = y0; row < y1; row++) {
      for (let col = x0; col < x1; col++) {
        const at = (row * width + col) * bands;
        for (let b = 0; b < bands; b++) pixels[at + b] = v[b] ?? 0;
      }
    }
  }
  return pixels;
}

/** The whole TIFF file as bytes. */
export function encodeGeoTiff(opts: WriteGeoTiffOptions): Buffer {
  const { width, height } = opts;
  const bands = opts.bands ?? 1;
  const compression = opts.compression ?? 'deflate';
  const pixels = renderPixels(opts);
  const rowBytes = width * bands;
  const rowsPerStrip = Math.min(height, opts.rowsPerStrip ?? Math.max(1, Math.floor(65536 / rowBytes)));
  if (!Number.isInteger(rowsPerStrip) || rowsPerStrip < 1) throw new Error('rowsPerStrip must be a positive integer');

  const strips: Buffer[] = [];
  for (let row = 0; row < height; row += rowsPerStrip) {
    const raw = pixels.subarray(row * rowBytes, Math.min(height, row + rowsPerStrip) * rowBytes);
    strips.push(compression === 'deflate' ? deflateSync(raw) : Buffer.from(raw));
  }

  const stripOffsets: Tag = { code: 273, type: LONG, values: [] }; // filled in below
  const tags: Tag[] = [
    { code: 256, type: LONG, values: [width] }, // ImageWidth
    { code: 257, type: LONG, values: [height] }, // ImageLength
    { code: 258, type: SHORT, values: new Array<number>(bands).fill(8) }, // BitsPerSample
    { code: 259, type: SHORT, values: [compression === 'deflate' ? 8 : 1] }, // Compression
    { code: 262, type: SHORT, values: [bands === 3 ? 2 : 1] }, // Photometric: RGB / MinIsBlack
    stripOffsets,
    { code: 277, type: SHORT, values: [bands] }, // SamplesPerPixel
    { code: 278, type: LONG, values: [rowsPerStrip] }, // RowsPerStrip
    { code: 279, type: LONG, values: strips.map((s) => s.length) }, // StripByteCounts
    { code: 284, type: SHORT, values: [1] }, // PlanarConfiguration: chunky
    { code: 339, type: SHORT, values: new Array<number>(bands).fill(1) }, // SampleFormat: uint
    ...geoTags(opts.georef, opts.pixelIsPoint ?? false),
  ];
  tags.sort((a, b) => a.code - b.code);

  // Layout: header | strips | out-of-line tag values | IFD. Every offset is word aligned.
  let offset = 8;
  for (const s of strips) {
    stripOffsets.values.push(offset);
    offset = even(offset + s.length);
  }
  const outOfLine = new Map<Tag, number>();
  for (const t of tags) {
    const size = TYPE_SIZE[t.type] * t.values.length;
    if (size > 4) {
      outOfLine.set(t, offset);
      offset = even(offset + size);
    }
  }
  const ifdOffset = offset;
  const total = ifdOffset + 2 + tags.length * 12 + 4;
  if (total > 0xffffffff) throw new Error('image too large for classic TIFF');

  const buf = Buffer.alloc(total);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(ifdOffset, 4);
  strips.forEach((s, i) => s.copy(buf, stripOffsets.values[i] ?? 0));
  for (const [t, at] of outOfLine) writeValues(buf, at, t);

  buf.writeUInt16LE(tags.length, ifdOffset);
  tags.forEach((t, i) => {
    const entry = ifdOffset + 2 + i * 12;
    buf.writeUInt16LE(t.code, entry);
    buf.writeUInt16LE(t.type, entry + 2);
    buf.writeUInt32LE(t.values.length, entry + 4);
    const at = outOfLine.get(t);
    if (at === undefined) writeValues(buf, entry + 8, t);
    else buf.writeUInt32LE(at, entry + 8);
  });
  buf.writeUInt32LE(0, ifdOffset + 2 + tags.length * 12); // no next IFD
  return buf;
}

/** Write a small 8-bit GeoTIFF to `file` (parent directories are created). */
export async function writeGeoTiff(file: string, opts: WriteGeoTiffOptions): Promise<WrittenGeoTiff> {
  const data = encodeGeoTiff(opts);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  return { file, width: opts.width, height: opts.height, bands: opts.bands ?? 1, bytes: data.length };
}

// --- internals ---------------------------------------------------------------------------------

const SHORT = 3;
const LONG = 4;
const DOUBLE = 12;
type TagType = typeof SHORT | typeof LONG | typeof DOUBLE;
const TYPE_SIZE: Record<TagType, number> = { [SHORT]: 2, [LONG]: 4, [DOUBLE]: 8 };

interface Tag {
  code: number;
  type: TagType;
  values: number[];
}

function geoTags(georef: GeoRef, pixelIsPoint: boolean): Tag[] {
  if (georef.kind === 'none') return [];
  const { epsg } = georef;
  if (!Number.isInteger(epsg) || epsg <= 0 || epsg > 65535) throw new Error(`bad EPSG code ${String(epsg)}`);
  const geographic = (georef.modelType ?? (isGeographicEpsg(epsg) ? 'geographic' : 'projected')) === 'geographic';
  const keys: [number, number][] = [
    [1024, geographic ? 2 : 1], // GTModelTypeGeoKey: ModelTypeGeographic / ModelTypeProjected
    [1025, pixelIsPoint ? 2 : 1], // GTRasterTypeGeoKey: RasterPixelIsPoint / RasterPixelIsArea
    geographic ? [2048, epsg] : [3072, epsg], // GeographicTypeGeoKey / ProjectedCSTypeGeoKey
  ];
  // Header: KeyDirectoryVersion 1, KeyRevision 1.0, NumberOfKeys; then (KeyID, location 0, count 1, value).
  const directory = [1, 1, 0, keys.length, ...keys.flatMap(([id, v]) => [id, 0, 1, v])];
  const tags: Tag[] = [{ code: 34735, type: SHORT, values: directory }];
  if (georef.kind === 'tiepoint') {
    checkNumbers(georef.tiepoint, 6, 'tiepoint');
    checkNumbers(georef.pixelScale, 3, 'pixelScale');
    tags.push({ code: 33550, type: DOUBLE, values: [...georef.pixelScale] });
    tags.push({ code: 33922, type: DOUBLE, values: [...georef.tiepoint] });
  } else {
    checkNumbers(georef.matrix, 16, 'matrix');
    tags.push({ code: 34264, type: DOUBLE, values: [...georef.matrix] });
  }
  return tags;
}

function writeValues(buf: Buffer, at: number, t: Tag): void {
  t.values.forEach((v, i) => {
    if (t.type === SHORT) buf.writeUInt16LE(v, at + i * 2);
    else if (t.type === LONG) buf.writeUInt32LE(v, at + i * 4);
    else buf.writeDoubleLE(v, at + i * 8);
  });
}

function checkNumbers(values: readonly number[], length: number, what: string): void {
  if (values.length !== length || !values.every(Number.isFinite)) {
    throw new Error(`${what} needs ${length} finite numbers`);
  }
}

function checkSize(width: number, height: number): void {
  for (const [n, what] of [
    [width, 'width'],
    [height, 'height'],
  ] as const) {
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${what} must be an integer in 1..65535`);
  }
}

function byte(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`${what} must be an integer in 0..255, got ${n}`);
  return n;
}

const even = (n: number): number => n + (n & 1);

/**
 * A minimal little-endian, single-strip, uncompressed TIFF with any sample type, for what the
 * 8-bit GeoTIFF helper cannot write. `declared` overrides the size written in the header.
 */
export function tinyTiff(o: {
  width: number;
  height: number;
  samples?: number;
  bits: number;
  format: 1 | 2 | 3 | 6;
  data: Buffer;
  declared?: { width: number; height: number; compression?: number };
  noData?: string;
}): Buffer {
  const n = o.samples ?? 1;
  const [w, h] = o.declared ? [o.declared.width, o.declared.height] : [o.width, o.height];
  const entries: [tag: number, type: 2 | 3 | 4, values: number[] | string][] = [
    [256, 4, [w]],
    [257, 4, [h]],
    [258, 3, Array<number>(n).fill(o.bits)],
    [259, 3, [o.declared?.compression ?? 1]],
    [262, 3, [n === 3 ? 2 : 1]],
    [273, 4, [8]],
    [277, 3, [n]],
    [278, 4, [h]],
    [279, 4, [o.data.length]],
    [284, 3, [1]],
    [339, 3, Array<number>(n).fill(o.format)],
  ];
  if (o.noData !== undefined) entries.push([42113, 2, `${o.noData}\0`]);
  const size = (t: 2 | 3 | 4, v: number[] | string) => v.length * (t === 4 ? 4 : t === 3 ? 2 : 1);
  const ifd = 8 + o.data.length + (o.data.length % 2);
  let extra = ifd + 2 + entries.length * 12 + 4;
  const buf = Buffer.alloc(extra + entries.reduce((s, [, t, v]) => s + size(t, v) + 2, 0));
  buf.write('II*\0', 0, 'latin1');
  buf.writeUInt32LE(ifd, 4);
  o.data.copy(buf, 8);
  buf.writeUInt16LE(entries.length, ifd);
  entries.forEach(([tag, type, values], i) => {
    const at = ifd + 2 + i * 12;
    buf.writeUInt16LE(tag, at);
    buf.writeUInt16LE(type, at + 2);
    buf.writeUInt32LE(values.length, at + 4);
    let to = at + 8;
    if (size(type, values) > 4) {
      buf.writeUInt32LE(extra, to);
      to = extra;
      extra += size(type, values) + (size(type, values) % 2);
    }
    if (typeof values === 'string') buf.write(values, to, 'latin1');
    else values.forEach((v, k) => (type === 4 ? buf.writeUInt32LE(v, to + k * 4) : buf.writeUInt16LE(v, to + k * 2)));
  });
  return buf;
}
