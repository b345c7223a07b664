/**
 * Opening an image and reading pixel windows from it with sharp (libvips), never decoding the whole
 * image: each window is its own `extract`, so memory follows the window size, not the image size.
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { ExtensionError } from '../shared/errors.js';
import type { Bounds } from '../shared/geojson.js';
import type { Georef } from './georef.js';
import { inspectTiff, type TiffLayout } from './georef.js';

/** The pixel sample types sharp reports (`metadata().depth`). */
export type PixelDepth =
  'uchar' | 'char' | 'ushort' | 'short' | 'uint' | 'int' | 'float' | 'double' | 'complex' | 'dpcomplex';

/** A window of 8-bit pixels, row-major and channel-interleaved, ready for `encodeTile`. */
export interface RawTile {
  data: Buffer;
  width: number;
  height: number;
  /** 1 = grey, 3 = RGB. */
  channels: 1 | 3;
}

/** An opened image: its size, what a tile of it holds, its georeferencing, and a window reader. */
export interface ImageSource {
  /** Absolute path of the file. */
  path: string;
  /** How messages name the image (the request's URL or the path given). */
  label: string;
  width: number;
  height: number;
  /** Bands in the file. Tiles carry band 1 (1–2 bands) or bands 1–3 (3 or more); see `channels`. */
  bands: number;
  /** Channels of every {@link RawTile} this source returns. */
  channels: 1 | 3;
  /** Sample type in the file; anything but `uchar` is scaled to 8 bits (see `scaling`). */
  depth: PixelDepth;
  /** Bits per sample in the file (8, 16, 32 or 64). */
  bitsPerSample: number;
  /** For non-8-bit images: the per-channel value range mapped linearly to 0–255. */
  scaling: { min: number; max: number }[] | undefined;
  /** `undefined` when the image has no (usable) georeferencing: features then stay in pixels. */
  georef: Georef | undefined;
  /** Sentences for the caller to log once (no georeferencing, bands dropped, scaling, slow layout). */
  warnings: string[];
  /** Read one window; `bounds` must lie inside the image. */
  readWindow(bounds: Bounds): Promise<RawTile>;
}

/** Options of {@link openImage}. */
export interface OpenImageOptions {
  /** How messages name the image. @default the `file` argument */
  label?: string;
  /** Larger images are refused with IMAGE_UNSUPPORTED. @default 2 ** 31 */
  maxPixels?: number;
}

/**
 * Open an image (GeoTIFF, or anything sharp reads: PNG, JPEG, … without georeferencing) and check
 * it up front: a missing, empty, foreign or truncated file is IMAGE_UNREADABLE; zero size, over
 * `maxPixels`, signed or complex samples are IMAGE_UNSUPPORTED. A TIFF's strip/tile table is
 * checked against the file size first, so a header claiming more data than the file holds is
 * refused before anything is allocated.
 *
 * Band choice: OSML sends models the native bands, but PNG/JPEG tiles need 8-bit grey or RGB, so
 * (like OSML's toolkit for displayable tiles) 1–2 bands give band 1 as grey and 3 or more give
 * bands 1–3 as RGB. Non-8-bit samples are scaled linearly per band from the image's min/max
 * (GDAL_NODATA excluded), measured once here in a window-by-window pass.
 *
 * @example
 * const image = await openImage('scene.tif');
 * const tile = await image.readWindow({ x: 0, y: 0, width: 512, height: 512 });
 */
export async function openImage(file: string, options: OpenImageOptions = {}): Promise<ImageSource> {
  const label = options.label ?? file;
  const fail = failures(file, label);
  const size = await fileSize(file, fail);
  const tiff = (await isTiff(file, fail)) ? await inspectTiff(file, size, label) : undefined;
  // Checked on the header: libvips cannot even open some complex TIFFs.
  if (tiff && (tiff.sampleFormat === 5 || tiff.sampleFormat === 6)) throw fail.pixelType('complex', 'complex');
  const input: SharpOptions = {
    limitInputPixels: false,
    limitInputChannels: false,
    failOn: 'error',
    ignoreIcc: true,
    // TIFF strips/tiles are read where they lie; PNG/JPEG with random access would be decoded whole.
    sequentialRead: tiff === undefined,
  };
  const { width, height, bands, depth, space, bits } = await readMetadata(
    file,
    input,
    options.maxPixels ?? 2 ** 31,
    fail,
  );
  const selected = bands >= 3 ? [0, 1, 2] : [0];
  const channels = selected.length === 3 ? 3 : 1;
  const layout: TiffLayout = tiff?.layout ?? { tiled: false, blockWidth: width, blockHeight: 1 };
  const window = (b: Bounds) => sharp(file, input).extract({ left: b.x, top: b.y, width: b.width, height: b.height });
  const readNative = async (b: Bounds): Promise<Samples> => {
    try {
      return await readSamples(window, b, { label, space, depth, bands, selected });
    } catch (error) {
      if (error instanceof ExtensionError) throw error;
      throw fail.unreadable(
        `cannot decode the pixels at ${b.x},${b.y} (${b.width} x ${b.height}): ${errorText(error)}`,
        error,
      );
    }
  };
  const noData = tiff?.noData;
  const scaling =
    depth === 'uchar' ? undefined : await measureRanges(readNative, { width, height, channels }, layout, noData);
  const georef = tiff?.georef;
  return {
    path: path.resolve(file),
    label,
    width,
    height,
    bands,
    channels,
    depth,
    bitsPerSample: bits,
    scaling,
    georef,
    warnings: describeWarnings(label, { georef, bands, depth, scaling, slow: !layout.tiled && height > SLOW_ROWS }),
    async readWindow(b) {
      const problems = checkBounds(b, width, height);
      if (problems.length > 0)
        throw new ExtensionError('REQUEST_INVALID', { where: `readWindow of ${label}`, problems });
      const { values } = await readNative(b);
      const data = scaling
        ? toBytes(values, scaling, noData)
        : Buffer.from(values.buffer, values.byteOffset, values.byteLength);
      return { data, width: b.width, height: b.height, channels };
    },
  };
}

// --- internals ---------------------------------------------------------------------------------

type Samples = { values: Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array; channels: number };
type Format = { label: string; space: string; depth: PixelDepth; bands: number; selected: number[] };
type Range = { min: number; max: number };

const BITS: Partial<Record<PixelDepth, number>> = { uchar: 8, ushort: 16, uint: 32, float: 32, double: 64 };
const ARRAYS = { uchar: Uint8Array, ushort: Uint16Array, uint: Uint32Array, float: Float32Array, double: Float64Array };
/** Samples per read in the min/max pass: bounds its memory to 16 Mi samples (≤ 128 MiB for doubles). */
const PASS_SAMPLES = 16 * 2 ** 20;
/** Above this height an untiled image is slow enough to warn about. */
const SLOW_ROWS = 4096;

type Failures = ReturnType<typeof failures>;

function failures(file: string, label: string) {
  const unsupported = (problem: string) => new ExtensionError('IMAGE_UNSUPPORTED', { image: label, problem });
  return {
    unreadable: (reason: string, cause?: unknown) =>
      new ExtensionError('IMAGE_UNREADABLE', { image: label, reason }, { cause }),
    unsupported,
    pixelType: (type: string, kind: string) =>
      unsupported(
        `its pixels are ${type} (${kind}), which the runner does not scale; convert it to 8-bit first, ` +
          `e.g. gdal_translate -ot Byte -scale ${path.basename(file)} out.tif`,
      ),
  };
}

/** Size, bands and sample type from sharp's header read, refusing what the runner cannot process. */
async function readMetadata(file: string, input: SharpOptions, maxPixels: number, fail: Failures) {
  let meta: Metadata;
  try {
    meta = await sharp(file, input).metadata();
  } catch (error) {
    throw fail.unreadable(`it is not an image sharp can decode (${errorText(error)})`, error);
  }
  const { width = 0, height = 0, channels: bands = 0, space = 'srgb' } = meta;
  const depth = (meta.depth ?? 'uchar') as PixelDepth;
  if (width < 1 || height < 1 || bands < 1) {
    throw fail.unsupported(`it has zero size (${width} x ${height} x ${bands} bands)`);
  }
  if (width * height > maxPixels) {
    throw fail.unsupported(`it has ${width} x ${height} = ${width * height} pixels, over the limit of ${maxPixels}`);
  }
  const bits = BITS[depth];
  if (bits === undefined) throw fail.pixelType(depth, /complex/.test(depth) ? 'complex' : 'signed');
  return { width, height, bands, depth, space, bits };
}

function describeWarnings(
  label: string,
  o: { georef: Georef | undefined; bands: number; depth: PixelDepth; scaling: Range[] | undefined; slow: boolean },
): string[] {
  const warnings: string[] = [];
  if (!o.georef) warnings.push(`${label} has no georeferencing; features keep pixel coordinates only.`);
  if (o.bands === 2 || o.bands > 3) {
    const kept = o.bands > 3 ? 'bands 1-3 as RGB' : 'band 1 as grey';
    warnings.push(`${label} has ${o.bands} bands; tiles carry ${kept} only.`);
  }
  if (o.scaling) {
    const ranges = o.scaling.map((r, i) => `band ${i + 1}: ${r.min}..${r.max}`).join(', ');
    warnings.push(`${label} has ${o.depth} pixels; tiles are scaled to 8 bits from each band's min..max (${ranges}).`);
  }
  if (o.slow) {
    warnings.push(
      `${label} is not tiled, so every tile read decodes the image from its top row; ` +
        'for speed convert it with gdal_translate -co TILED=YES.',
    );
  }
  return warnings;
}

/** The selected bands of one window, in the file's own sample type, channel-interleaved. */
async function readSamples(window: (b: Bounds) => Sharp, b: Bounds, f: Format): Promise<Samples> {
  // Asking for the input's own colourspace stops sharp converting to sRGB (which rescales 16-bit
  // and float samples); raw output of a 'b-w' image keeps band 1 only, hence one read per band.
  const raw = (s: Sharp) => s.toColourspace(f.space).raw({ depth: f.depth }).toBuffer({ resolveWithObject: true });
  const perBand = f.space === 'b-w' && f.selected.length > 1;
  const reads = perBand ? f.selected.map((k) => raw(window(b).extractChannel(k as 0 | 1 | 2))) : [raw(window(b))];
  const planes = (await Promise.all(reads)).map(({ data, info }) => ({
    values: typed(data, f.depth),
    channels: info.channels,
  }));
  const pixels = b.width * b.height;
  const only = planes[0];
  if (!perBand && only && only.channels === f.selected.length && only.values.length === pixels * only.channels)
    return only;
  const out = new ARRAYS[f.depth as keyof typeof ARRAYS](pixels * f.selected.length);
  f.selected.forEach((band, c) => {
    const plane = perBand ? planes[c] : planes[0];
    const from = perBand ? 0 : band;
    if (!plane || plane.values.length !== pixels * plane.channels || from >= plane.channels) {
      throw new ExtensionError('IMAGE_UNSUPPORTED', {
        image: f.label,
        problem: `sharp returned ${plane?.channels ?? 0} channels for its ${f.bands} ${f.space} bands`,
      });
    }
    for (let p = 0; p < pixels; p++) out[p * f.selected.length + c] = plane.values[p * plane.channels + from] ?? 0;
  });
  return { values: out, channels: f.selected.length };
}

function typed(data: Buffer, depth: PixelDepth): Samples['values'] {
  const Arr = ARRAYS[depth as keyof typeof ARRAYS];
  // Typed arrays need aligned offsets; sharp's buffers normally are, copy when not.
  const bytes = data.byteOffset % Arr.BYTES_PER_ELEMENT === 0 ? data : Uint8Array.from(data);
  return new Arr(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / Arr.BYTES_PER_ELEMENT);
}

/** Per-channel min/max over the whole image, window by window (windows follow the TIFF blocks). */
async function measureRanges(
  read: (b: Bounds) => Promise<Samples>,
  image: { width: number; height: number; channels: number },
  layout: TiffLayout,
  noData: number | undefined,
): Promise<Range[]> {
  const { width, height, channels } = image;
  // Whole blocks per read, so no strip or tile is decoded twice; a block may take the budget up to 4x.
  const fit = (budget: number, block: number) => {
    const n = Math.floor(budget);
    return n >= block ? n - (n % block) : block <= 4 * n ? block : Math.max(1, n);
  };
  const rows = Math.min(height, fit(PASS_SAMPLES / (channels * width), layout.blockHeight));
  const cols = Math.min(width, fit(PASS_SAMPLES / (channels * rows), layout.blockWidth));
  const ranges = Array.from({ length: channels }, () => ({ min: Infinity, max: -Infinity }));
  for (let y = 0; y < height; y += rows) {
    for (let x = 0; x < width; x += cols) {
      const { values } = await read({ x, y, width: Math.min(cols, width - x), height: Math.min(rows, height - y) });
      ranges.forEach((r, c) => {
        for (let i = c; i < values.length; i += channels) {
          const v = values[i] as number;
          if (v === noData || !Number.isFinite(v)) continue;
          if (v < r.min) r.min = v;
          if (v > r.max) r.max = v;
        }
      });
    }
  }
  // A band with no valid sample (all NaN or no-data) maps to 0.
  return ranges.map((r) => (r.min <= r.max ? r : { min: 0, max: 0 }));
}

/** Linear min..max → 0..255 per channel; NaN and no-data become 0. */
function toBytes(values: Samples['values'], scaling: Range[], noData: number | undefined): Buffer {
  const channels = scaling.length;
  const out = Buffer.alloc(values.length);
  const gains = scaling.map((r) => (r.max > r.min ? 255 / (r.max - r.min) : 0));
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    const c = i % channels;
    if (Number.isNaN(v) || v === noData) continue;
    const scaled = Math.round((v - (scaling[c]?.min ?? 0)) * (gains[c] ?? 0));
    out[i] = scaled < 0 ? 0 : scaled > 255 ? 255 : scaled;
  }
  return out;
}

function checkBounds(b: Bounds, width: number, height: number): string[] {
  const problems: string[] = [];
  if (![b.x, b.y, b.width, b.height].every(Number.isInteger)) problems.push('x, y, width and height must be integers');
  else if (b.x < 0 || b.y < 0 || b.width < 1 || b.height < 1 || b.x + b.width > width || b.y + b.height > height) {
    problems.push(`window ${b.x},${b.y} ${b.width} x ${b.height} is not inside the ${width} x ${height} image`);
  }
  return problems;
}

async function fileSize(file: string, { unreadable }: Failures): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw unreadable(
      code === 'ENOENT' ? 'the file does not exist' : `cannot access the file (${code ?? errorText(error)})`,
      error,
    );
  }
  if (info.isDirectory()) throw unreadable('it is a directory, not a file');
  if (info.size === 0) throw unreadable('the file is empty (0 bytes)');
  return info.size;
}

/** TIFF or BigTIFF magic: "II" or "MM", then 42 or 43. */
async function isTiff(file: string, { unreadable }: Failures): Promise<boolean> {
  const handle = await open(file, 'r').catch((error: unknown) => {
    throw unreadable(`cannot open the file (${errorText(error)})`, error);
  });
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 4) return false;
    const order = buffer.toString('latin1', 0, 2);
    const magic = order === 'II' ? buffer.readUInt16LE(2) : order === 'MM' ? buffer.readUInt16BE(2) : 0;
    return magic === 42 || magic === 43;
  } finally {
    await handle.close();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
