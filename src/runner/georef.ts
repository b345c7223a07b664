/**
 * What a GeoTIFF header says, read with geotiff.js: the georeferencing (the affine pixel → CRS map,
 * built here term by term as GDAL does, and the CRS as a proj4 definition), and whether the pixel
 * data the header declares actually lies inside the file.
 */
import { fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { toProj4, type GeoKeys } from 'geotiff-geokeys-to-proj4';
import { ExtensionError } from '../shared/errors.js';

/** Where an image lies on Earth: an affine pixel → CRS map and the CRS. */
export interface Georef {
  /**
   * GDAL geotransform order: `X = a0 + a1*col + a2*row`, `Y = a3 + a4*col + a5*row`.
   * `col`/`row` are pixel-corner based: (0,0) is the top-left corner of the top-left pixel, whatever
   * the file's raster type (RasterPixelIsPoint files are already shifted by half a pixel, like GDAL).
   * X/Y are in the units the `crs.proj4` definition expects.
   */
  affine: [number, number, number, number, number, number];
  /** The CRS: a proj4 definition, and its EPSG code and name when the file names them. */
  crs: { proj4: string; epsg?: number; name?: string };
}

/**
 * Read the georeferencing of the first image of a GeoTIFF.
 *
 * Returns `undefined` when the file has no affine georeferencing tags or no GeoKeyDirectory
 * (nothing to map pixels to). Throws `IMAGE_UNSUPPORTED` for georeferencing that exists but cannot
 * be used (ground control points only, geocentric or unknown CRS, a degenerate matrix) rather than
 * silently dropping it, and `IMAGE_UNREADABLE` when geotiff.js cannot parse the file.
 *
 * @example
 * const georef = await readGeoref('scene.tif');
 * if (georef) console.log(georef.crs.epsg, georef.affine);
 */
export async function readGeoref(file: string): Promise<Georef | undefined> {
  let tiff: GeoTIFF | undefined;
  try {
    tiff = await fromFile(file);
    return await georefFromImage(await tiff.getImage(0), file);
  } catch (error) {
    throw asUnreadable(error, file);
  } finally {
    await tiff?.close();
  }
}

/** The georeferencing of one opened GeoTIFF image (see {@link readGeoref}); `label` names it in errors. */
async function georefFromImage(image: GeoTIFFImage, label: string): Promise<Georef | undefined> {
  const dir = image.fileDirectory;
  const unsupported = (problem: string): ExtensionError =>
    new ExtensionError('IMAGE_UNSUPPORTED', { image: label, problem });
  const matrix = toNumbers(await dir.loadValue('ModelTransformation'));
  const tiepoints = toNumbers(await dir.loadValue('ModelTiepoint'));
  const scale = toNumbers(await dir.loadValue('ModelPixelScale'));

  let affine: Georef['affine'];
  // GDAL's order of precedence: pixel scale + first tiepoint, then the matrix, else GCPs.
  if (tiepoints && tiepoints.length >= 6 && scale && scale.length >= 2 && scale[0] && scale[1]) {
    const [i = 0, j = 0, , x = NaN, y = NaN] = tiepoints;
    const [sx = NaN, sy = NaN] = scale;
    // The tiepoint's raster (I, J) need not be (0, 0): move the origin back to the corner.
    affine = [x - i * sx, sx, 0, y + j * sy, 0, -sy];
  } else if (matrix && matrix.length === 16) {
    const [m0 = NaN, m1 = NaN, , m3 = NaN, m4 = NaN, m5 = NaN, , m7 = NaN] = matrix;
    affine = [m3, m0, m1, m7, m4, m5];
  } else if (tiepoints && tiepoints.length >= 6) {
    throw unsupported(
      `it is georeferenced by ${tiepoints.length / 6} ground control points, which this runner does not use; ` +
        'warp it first (gdalwarp -t_srs EPSG:4326 in.tif out.tif)',
    );
  } else {
    return undefined;
  }

  const geoKeys = image.getGeoKeys();
  if (!geoKeys) return undefined;
  // RasterPixelIsPoint: the tags place pixel centres; GDAL moves the origin to the pixel corner.
  if (geoKeys['GTRasterTypeGeoKey'] === 2) {
    affine[0] -= 0.5 * affine[1] + 0.5 * affine[2];
    affine[3] -= 0.5 * affine[4] + 0.5 * affine[5];
  }
  const crs = describeCrs(geoKeys, unsupported);
  const [cx, cy] = crs.scale;
  affine = [affine[0] * cx, affine[1] * cx, affine[2] * cx, affine[3] * cy, affine[4] * cy, affine[5] * cy];
  if (!affine.every(Number.isFinite) || affine[1] * affine[5] - affine[2] * affine[4] === 0) {
    throw unsupported(`its georeferencing is degenerate (geotransform ${affine.join(', ')})`);
  }
  return { affine, crs: crs.crs };
}

/** How a TIFF stores its pixels: in tiles, or in strips of full rows. */
export interface TiffLayout {
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
}

/** What {@link inspectTiff} learns from a TIFF header. */
export interface TiffHeader {
  layout: TiffLayout;
  georef: Georef | undefined;
  /** GDAL_NODATA, when set. */
  noData: number | undefined;
  /** TIFF SampleFormat of band 1: 1 unsigned, 2 signed, 3 float, 5/6 complex. */
  sampleFormat: number;
}

/**
 * Read the header of the first image of a TIFF and check that every strip or tile it declares lies
 * inside the file (`fileSize` bytes), without reading pixels: a truncated file, or a header that
 * claims far more pixels than the file can hold, is IMAGE_UNREADABLE before anything is allocated.
 * `label` names the image in errors.
 */
export async function inspectTiff(file: string, fileSize: number, label: string): Promise<TiffHeader> {
  let tiff: GeoTIFF | undefined;
  try {
    tiff = await fromFile(file);
    const image = await tiff.getImage(0);
    const layout = await checkBlocks(image, fileSize, label);
    const noData = image.getGDALNoData() ?? undefined;
    return { layout, georef: await georefFromImage(image, label), noData, sampleFormat: image.getSampleFormat(0) };
  } catch (error) {
    throw asUnreadable(error, label);
  } finally {
    await tiff?.close();
  }
}

// --- internals ---------------------------------------------------------------------------------

/** Decoded strips/tiles larger than this would have libvips allocate that much per read. */
const MAX_BLOCK_BYTES = 512 * 2 ** 20;

async function checkBlocks(image: GeoTIFFImage, fileSize: number, label: string): Promise<TiffLayout> {
  const truncated = (reason: string) =>
    new ExtensionError('IMAGE_UNREADABLE', { image: label, reason: `truncated: ${reason}` });
  const dir = image.fileDirectory;
  if (!dir.hasTag('ImageWidth') || !dir.hasTag('ImageLength')) {
    throw new ExtensionError('IMAGE_UNREADABLE', { image: label, reason: 'its TIFF header gives no image size' });
  }
  const [width, height] = [image.getWidth(), image.getHeight()];
  if (!(width > 0 && height > 0)) {
    throw new ExtensionError('IMAGE_UNSUPPORTED', { image: label, problem: `it has zero size (${width} x ${height})` });
  }
  const tiled = image.isTiled;
  const kind = tiled ? 'tile' : 'strip';
  const layout = { tiled, blockWidth: tiled ? image.getTileWidth() : width, blockHeight: image.getTileHeight() };
  const planes = image.planarConfiguration === 2 ? image.getSamplesPerPixel() : 1;
  const down = Math.ceil(height / layout.blockHeight);
  const blocks = Math.ceil(width / layout.blockWidth) * down * planes;
  const [offsetTag, countTag] = tiled ? [324, 325] : [273, 279];
  // Each entry takes at least 4 bytes: a table longer than the file is refused before it is loaded.
  const declared = Math.max(
    blocks,
    dir.deferredArrays.get(offsetTag)?.length ?? 0,
    dir.deferredArrays.get(countTag)?.length ?? 0,
  );
  if (declared * 4 > fileSize) {
    const size = `${width} x ${height}`;
    throw truncated(
      `its ${size} pixels need ${declared} ${kind}s, at least ${declared * 4} bytes, the file has ${fileSize}`,
    );
  }
  const offsets = toNumbers(await dir.loadValue(offsetTag)) ?? [];
  const counts = toNumbers(await dir.loadValue(countTag)) ?? [];
  if (offsets.length < blocks || counts.length < blocks) {
    const listed = Math.min(offsets.length, counts.length);
    throw truncated(`its header lists ${listed} ${kind}s, its ${width} x ${height} pixels need ${blocks}`);
  }
  const bits = Array.from({ length: image.getSamplesPerPixel() }, (_, i) => image.getBitsPerSample(i));
  const rowBytes = Math.ceil((layout.blockWidth * (planes > 1 ? (bits[0] ?? 8) : bits.reduce((a, b) => a + b, 0))) / 8);
  const uncompressed = (dir.getValue('Compression') ?? 1) === 1;
  let needs = 0;
  for (let i = 0; i < blocks; i++) {
    const rows = tiled ? layout.blockHeight : Math.min(layout.blockHeight, height - (i % down) * layout.blockHeight);
    needs = Math.max(needs, (offsets[i] ?? 0) + Math.max(counts[i] ?? 0, uncompressed ? rowBytes * rows : 0));
  }
  if (needs > fileSize) throw truncated(`its pixel data needs ${needs} bytes, the file has ${fileSize}`);
  const blockBytes = rowBytes * layout.blockHeight;
  if (blockBytes > MAX_BLOCK_BYTES) {
    const problem = `each of its ${kind}s decodes to ${blockBytes} bytes; re-tile it (gdal_translate -co TILED=YES)`;
    throw new ExtensionError('IMAGE_UNSUPPORTED', { image: label, problem });
  }
  return layout;
}

type Keys = Partial<Record<string, unknown>>;

/** The CRS of a GeoKeyDirectory, and the factors that bring model units to proj4's units. */
function describeCrs(
  geoKeys: Keys,
  unsupported: (problem: string) => ExtensionError,
): { crs: Georef['crs']; scale: [number, number] } {
  const modelType = geoKeys['GTModelTypeGeoKey'];
  if (modelType !== 1 && modelType !== 2) {
    throw unsupported(
      `its GTModelTypeGeoKey is ${String(modelType)}; only projected (1) and geographic (2) are supported`,
    );
  }
  const keys: Keys = { ...geoKeys };
  // Projected files often also name their base GCS; the converter would then pick the GCS.
  if (modelType === 1) delete keys['GeographicTypeGeoKey'];
  else delete keys['ProjectedCSTypeGeoKey'];
  const result = toProj4(keys as unknown as GeoKeys);
  const fatal = Object.entries(result.errors as unknown as Record<string, unknown>)
    .filter(([name]) => !/^vertical/i.test(name))
    .map(([name, value]) => `${name} ${String(value)}`);
  if (fatal.length > 0) {
    throw unsupported(
      `its CRS cannot be turned into a proj4 definition (${fatal.join(', ')}); ` +
        'reproject it first (gdalwarp -t_srs EPSG:4326 in.tif out.tif)',
    );
  }
  const code = modelType === 1 ? keys['ProjectedCSTypeGeoKey'] : keys['GeographicTypeGeoKey'];
  const name = [geoKeys['PCSCitationGeoKey'], geoKeys['GTCitationGeoKey'], geoKeys['GeogCitationGeoKey']].find(
    (v): v is string => typeof v === 'string' && v.trim() !== '',
  );
  const crs: Georef['crs'] = {
    // GeoTIFF model space puts easting/longitude first (GDAL's traditional GIS order) even where the
    // EPSG axis order is north-east (`+axis=ne` for EPSG:4326), which would swap lon and lat in proj4.
    proj4: result.proj4.replace(/\+axis=ne[ud]?\s*/g, '').trim(),
  };
  if (typeof code === 'number' && code > 0 && code < 32767) crs.epsg = code;
  if (name) crs.name = name.replace(/\|+$/, '').trim();
  const { x, y } = result.coordinatesConversionParameters;
  return { crs, scale: [x, y] };
}

/** geotiff.js failures become IMAGE_UNREADABLE; our own errors pass through. */
function asUnreadable(error: unknown, label: string): ExtensionError {
  if (error instanceof ExtensionError) return error;
  const reason = `its TIFF header cannot be parsed (${error instanceof Error ? error.message : String(error)})`;
  return new ExtensionError('IMAGE_UNREADABLE', { image: label, reason }, { cause: error });
}

function toNumbers(value: unknown): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return [value];
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<number>, Number);
  return undefined;
}
