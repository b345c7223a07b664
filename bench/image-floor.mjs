#!/usr/bin/env node
/**
 * The run benchmark's floor, run as a child process: sharp extracting and encoding exactly the
 * tiles `run` cuts (the same `planTiles` list, overlapping regions included), with the same
 * concurrency and the same encoding (PNG; `NONE` → zlib level 0, as the runner's encodeTile does),
 * and nothing else: no model, no HTTP, no de-duplication, no output file. The libvips cache is off,
 * as the CLI's `run` turns it off.
 *
 * Prints one JSON line: {"tiles": N, "bytes": B, "workMs": T}; workMs runs from opening the image
 * to the last tile encoded (module loading excluded, as `run`'s durationMs excludes its boot).
 *
 * Usage: node bench/image-floor.mjs IMAGE --tile-module DIST/runner/tile.js [--tile-size 512]
 *        [--tile-overlap 32] [--region-size 10240] [--concurrency 8] [--compression NONE]
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'tile-module': { type: 'string' },
    'tile-size': { type: 'string', default: '512' },
    'tile-overlap': { type: 'string', default: '32' },
    'region-size': { type: 'string', default: '10240' },
    concurrency: { type: 'string', default: '8' },
    compression: { type: 'string', default: 'NONE' },
  },
});
const [file] = positionals;
if (file === undefined || values['tile-module'] === undefined) {
  process.stderr.write('usage: node bench/image-floor.mjs IMAGE --tile-module DIST/runner/tile.js [options]\n');
  process.exit(2);
}
const { planTiles } = await import(pathToFileURL(values['tile-module']).href);
const tileSize = Number(values['tile-size']);
const tileOverlap = Number(values['tile-overlap']);
const concurrency = Number(values.concurrency);
const compressionLevel = values.compression === 'NONE' ? 0 : 1;
sharp.cache(false);

const started = performance.now();
// The runner's input options for a TIFF (src/runner/read.ts).
const input = { limitInputPixels: false, limitInputChannels: false, failOn: 'error', ignoreIcc: true };
const { width, height } = await sharp(file, input).metadata();
// `run` passes max(regionSize, tileSize) as the region size.
const sizes = { regionSize: Math.max(Number(values['region-size']), tileSize), tileSize, tileOverlap };
const tiles = planTiles({ x: 0, y: 0, width, height }, sizes).regions.flatMap((r) => r.tiles);
let next = 0;
let bytes = 0;
const worker = async () => {
  while (next < tiles.length) {
    const b = tiles[next++];
    const body = await sharp(file, input)
      .extract({ left: b.x, top: b.y, width: b.width, height: b.height })
      .png({ compressionLevel })
      .toBuffer();
    bytes += body.length;
  }
};
await Promise.all(Array.from({ length: Math.min(concurrency, tiles.length) }, worker));
const workMs = performance.now() - started;
process.stdout.write(`${JSON.stringify({ tiles: tiles.length, bytes, workMs: Math.round(workMs * 10) / 10 })}\n`);
