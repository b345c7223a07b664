#!/usr/bin/env node
/**
 * The run benchmark's `--prototypes` variants, run as a child process: `runImage` from the built
 * package with the two changes BENCHMARKS.md suggests for src/, swapped in from outside through
 * the documented `deps` (nothing in src/ changes):
 *
 *   proto-http  a model invoker on `node:http` with a keep-alive agent, instead of `fetch`
 *               (src/services/http-model.ts): no WHATWG streams, no copy of the body
 *   proto-both  the same, plus a region handler that reads and encodes each tile in ONE sharp
 *               pipeline (`sharp(file).extract().png()`), instead of raw pixels into JavaScript
 *               and a second pipeline to encode them (src/handlers/region-handler.ts,
 *               src/runner/read.ts, src/runner/encode.ts); valid for 8-bit RGB images only
 *
 * Both are measurements of what the changes would buy, not implementations: no retries, no
 * timeouts, no model-output reading beyond an empty FeatureCollection. Prints the run summary as
 * one JSON line, like `run --json`.
 *
 * Usage: node bench/image-prototype.mjs IMAGE --dist DIR --endpoint URL --variant proto-http|proto-both
 *        --out FILE --plugins DIR --cwd DIR [--tile-size 512] [--tile-overlap 32] [--concurrency 8]
 */
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dist: { type: 'string' },
    endpoint: { type: 'string' },
    variant: { type: 'string' },
    out: { type: 'string' },
    plugins: { type: 'string' },
    cwd: { type: 'string' },
    'tile-size': { type: 'string', default: '512' },
    'tile-overlap': { type: 'string', default: '32' },
    concurrency: { type: 'string', default: '8' },
  },
});
const [image] = positionals;
const { runImage, RegionRequestHandler } = await import(pathToFileURL(path.join(values.dist, 'index.js')).href);
sharp.cache(false); // as the CLI's `run` does
const concurrency = Number(values.concurrency);

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
/** POST the tile's bytes with node:http; parse the JSON answer. */
class NodeHttpInvoker {
  invoke(tile) {
    return new Promise((resolve, reject) => {
      const headers = {
        'content-type': tile.contentType,
        accept: 'application/geo+json',
        'content-length': tile.body.length,
      };
      const req = http.request(tile.endpoint, { method: 'POST', agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error);
          }
        });
      });
      req.on('error', reject);
      req.end(tile.body);
    });
  }
}

const input = { limitInputPixels: false, limitInputChannels: false, failOn: 'error', ignoreIcc: true };
/**
 * Read and encode a tile in one libvips pipeline (PNG, compression NONE as `run` defaults). Patched
 * onto the built-in region handler's prototype: `instantiate` builds the pair itself, so a region
 * handler passed in `deps` would be replaced.
 */
async function onePipelineTile(request, b, name) {
  const body = await sharp(request.image.path, input)
    .extract({ left: b.x, top: b.y, width: b.width, height: b.height })
    .png({ compressionLevel: 0 })
    .toBuffer();
  const tile = { imageId: request.imageId, endpoint: request.endpoint, bounds: b, name, body };
  const answer = await this.invokeModel({ ...tile, contentType: 'image/png' });
  if (!Array.isArray(answer?.features) || answer.features.length > 0)
    throw new Error('the prototype reads empty FeatureCollections only');
  return [];
}

if (values.variant === 'proto-both') RegionRequestHandler.prototype.processTile = onePipelineTile;
else if (values.variant !== 'proto-http') throw new Error(`unknown --variant ${values.variant}`);
const deps = { modelInvoker: new NodeHttpInvoker() };

const summary = await runImage(
  {
    image,
    options: {
      endpoint: values.endpoint,
      tileSize: Number(values['tile-size']),
      tileOverlap: Number(values['tile-overlap']),
      out: values.out,
    },
  },
  { cwd: values.cwd, overrides: { pluginDirs: [values.plugins] }, deps, concurrency },
);
agent.destroy();
process.stdout.write(`${JSON.stringify(summary)}\n`);
