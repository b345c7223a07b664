/**
 * Encoding one 8-bit tile for the model: PNG, JPEG or GeoTIFF-less TIFF, with sharp.
 */
import { ExtensionError } from '../shared/errors.js';
import type { RawTile } from './read.js';

/** Tile formats this runner encodes (OSML's `imageProcessorTileFormat`, without NITF). */
export type TileFormat = 'PNG' | 'JPEG' | 'GTIFF';
/** Tile compressions this runner applies (OSML's `imageProcessorTileCompression`, with DEFLATE, without J2K). */
export type TileCompression = 'NONE' | 'JPEG' | 'LZW' | 'DEFLATE';

/** An encoded tile: the request body for the model, and its media type. */
export interface EncodedTile {
  body: Buffer;
  contentType: string;
}

const FORMATS: readonly TileFormat[] = ['PNG', 'JPEG', 'GTIFF'];
const COMPRESSIONS: readonly TileCompression[] = ['NONE', 'JPEG', 'LZW', 'DEFLATE'];
const TIFF_COMPRESSION = { NONE: 'none', JPEG: 'jpeg', LZW: 'lzw', DEFLATE: 'deflate' } as const;
/** sharp's TIFF default; above OSML's GDAL default of 75 because models see every artefact. */
const JPEG_QUALITY = 90;

/**
 * Encode a tile.
 * - `PNG` → `image/png`. Compression `NONE` writes zlib level 0; anything else (or none given)
 *   level 1: tiles are encoded once and sent once, and level 1 costs a fraction of sharp's default
 *   level 6 for a payload only a few percent larger. OSML itself ignores the compression for PNG.
 * - `JPEG` → `image/jpeg`, quality 90; the compression is ignored (as in OSML).
 * - `GTIFF` → `image/tiff`, compressed as asked (`NONE` when not given, which is what OSML sends);
 *   JPEG inside TIFF is lossy (quality 90).
 *
 * @throws ExtensionError UNSUPPORTED for any other format or compression value.
 * @example
 * const { body, contentType } = await encodeTile(tile, 'PNG');
 */
export async function encodeTile(
  tile: RawTile,
  format: TileFormat,
  compression?: TileCompression,
): Promise<EncodedTile> {
  if (!FORMATS.includes(format)) {
    throw new ExtensionError('UNSUPPORTED', {
      field: 'imageProcessorTileFormat',
      received: String(format),
      supported: FORMATS,
    });
  }
  if (compression !== undefined && !COMPRESSIONS.includes(compression)) {
    throw new ExtensionError('UNSUPPORTED', {
      field: 'imageProcessorTileCompression',
      received: String(compression),
      supported: COMPRESSIONS,
    });
  }
  const { data, width, height, channels } = tile;
  // Without an explicit 'b-w', sharp writes a 1-channel tile as 3-channel sRGB.
  const { default: sharp } = await import('sharp');
  const image = sharp(data, { raw: { width, height, channels } }).toColourspace(channels === 1 ? 'b-w' : 'srgb');
  switch (format) {
    case 'PNG':
      return {
        body: await image.png({ compressionLevel: compression === 'NONE' ? 0 : 1 }).toBuffer(),
        contentType: 'image/png',
      };
    case 'JPEG':
      return { body: await image.jpeg({ quality: JPEG_QUALITY }).toBuffer(), contentType: 'image/jpeg' };
    case 'GTIFF': {
      const options = { compression: TIFF_COMPRESSION[compression ?? 'NONE'], quality: JPEG_QUALITY };
      return { body: await image.tiff(options).toBuffer(), contentType: 'image/tiff' };
    }
  }
}
