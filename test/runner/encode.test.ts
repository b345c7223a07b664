import { fromArrayBuffer } from 'geotiff';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeTile, type TileCompression } from '../../src/runner/encode.js';
import type { RawTile } from '../../src/runner/read.js';
import { isExtensionError } from '../../src/shared/errors.js';

/** A tile with structure (gradients and a bright square), so lossy codecs have something to lose. */
function makeTile(channels: 1 | 3, width = 37, height = 23): RawTile {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const inSquare = x >= 10 && x < 20 && y >= 5 && y < 15;
        data[(y * width + x) * channels + c] = inSquare ? 250 - c * 60 : x * 3 + y * 2 + c * 30;
      }
    }
  }
  return { data, width, height, channels };
}

async function decode(
  body: Buffer,
  channels: 1 | 3,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(body)
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const meanAbsDiff = (a: Buffer, b: Buffer) => a.reduce((sum, v, i) => sum + Math.abs(v - (b[i] ?? 0)), 0) / a.length;

/** The TIFF Compression tag (1 none, 5 LZW, 7 JPEG, 8 deflate) read with geotiff.js, not sharp. */
async function tiffCompression(body: Buffer): Promise<number> {
  const tiff = await fromArrayBuffer(
    body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
  );
  return (await tiff.getImage()).fileDirectory.getValue('Compression') as number;
}

describe.each([1, 3] as const)('encodeTile, %i channel(s)', (channels) => {
  const tile = makeTile(channels);

  it.each([undefined, 'NONE', 'DEFLATE'] as const)(
    'PNG (compression %s) decodes to the exact pixels',
    async (compression) => {
      const { body, contentType } = await encodeTile(tile, 'PNG', compression);
      expect(contentType).toBe('image/png');
      expect(body.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(await decode(body, channels)).toEqual({
        data: tile.data,
        width: tile.width,
        height: tile.height,
        channels,
      });
    },
  );

  it('PNG with NONE is stored (zlib level 0), so larger than the default', async () => {
    const stored = await encodeTile(tile, 'PNG', 'NONE');
    const fast = await encodeTile(tile, 'PNG');
    expect(stored.body.length).toBeGreaterThan(tile.data.length);
    expect(fast.body.length).toBeLessThan(stored.body.length);
  });

  it('JPEG decodes to nearly the same pixels (quality 90)', async () => {
    const { body, contentType } = await encodeTile(tile, 'JPEG', 'LZW');
    expect(contentType).toBe('image/jpeg');
    expect([body[0], body[1]]).toEqual([0xff, 0xd8]);
    const out = await decode(body, channels);
    expect(out.channels).toBe(channels);
    expect(meanAbsDiff(out.data, tile.data)).toBeLessThan(6);
  });

  it.each([
    [undefined, 1],
    ['NONE', 1],
    ['LZW', 5],
    ['DEFLATE', 8],
  ] as const)('GTIFF with compression %s writes TIFF Compression %i and the exact pixels', async (compression, tag) => {
    const { body, contentType } = await encodeTile(tile, 'GTIFF', compression);
    expect(contentType).toBe('image/tiff');
    expect(await tiffCompression(body)).toBe(tag);
    expect(await decode(body, channels)).toEqual({ data: tile.data, width: tile.width, height: tile.height, channels });
  });

  it('GTIFF with JPEG compression is lossy but close', async () => {
    const { body } = await encodeTile(tile, 'GTIFF', 'JPEG');
    expect(await tiffCompression(body)).toBe(7);
    const out = await decode(body, channels);
    expect(out.channels).toBe(channels);
    expect(meanAbsDiff(out.data, tile.data)).toBeLessThan(6);
  });
});

describe('encodeTile refuses what it does not encode', () => {
  it.each([
    ['NITF', undefined, 'imageProcessorTileFormat'],
    ['png', undefined, 'imageProcessorTileFormat'],
    ['PNG', 'J2K', 'imageProcessorTileCompression'],
  ])('%s / %s → UNSUPPORTED naming %s', async (format, compression, field) => {
    const error = await encodeTile(makeTile(1), format as 'PNG', compression as TileCompression).catch(
      (e: unknown) => e,
    );
    expect(isExtensionError(error, 'UNSUPPORTED')).toBe(true);
    if (isExtensionError(error, 'UNSUPPORTED')) expect(error.params.field).toBe(field);
  });
});
