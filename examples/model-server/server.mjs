// @ts-check
/**
 * Example model server: the SageMaker inference container contract used by AWS OSML models.
 *
 *   GET  /ping         → 200 when ready
 *   POST /invocations  → body: one encoded tile (PNG, JPEG or TIFF); answer: application/geo+json,
 *                        a FeatureCollection in tile pixel coordinates (x right, y down)
 *
 * The model itself (`handleInvocation`) has no HTTP in it, so a local SageMaker runtime emulator can
 * call it directly. Run `node examples/model-server/server.mjs --help` for the command line.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

/** @typedef {'blobs' | 'center'} ModelMode */
/** @typedef {'error500' | 'hang' | 'not-json' | 'wrong-shape' | 'throttle' | 'flaky'} FaultMode */

/**
 * @typedef {object} ModelOptions
 * @property {ModelMode} [mode] `blobs` (default): one feature per bright connected component; `center`: one box of
 *   10% of the tile size centred on the tile, like OSML's "centerpoint" test model.
 * @property {number} [threshold] A pixel is "bright" when the max over its colour channels is >= this (0-255, default 200).
 * @property {number} [minPixels] Smallest component reported, in pixels (default 4).
 * @property {4 | 8} [connectivity] Pixel neighbourhood for components (default 4).
 */

/**
 * @typedef {object} ModelServerOptions
 * @property {number} [port] TCP port; 0 (default) picks a free one.
 * @property {string} [host] Interface to listen on (default '127.0.0.1').
 * @property {ModelMode} [mode]
 * @property {number} [threshold]
 * @property {number} [minPixels]
 * @property {4 | 8} [connectivity]
 * @property {FaultMode} [fault] Misbehave on /invocations, to test a caller's error handling:
 *   `error500` always 500; `hang` never answers; `not-json` 200 with a body that is not JSON; `wrong-shape` 200 with
 *   JSON that is not a FeatureCollection; `throttle` 429 for the first `faultCalls` calls, then normal; `flaky` 500 on
 *   the first call for each distinct tile body, normal on a repeat of it.
 * @property {number} [faultCalls] How many calls `throttle` refuses (default 2).
 * @property {number} [maxBodyBytes] Largest accepted request body (default 64 MiB); larger → 413.
 */

/**
 * @typedef {object} ModelServer
 * @property {string} url Base URL, e.g. `http://127.0.0.1:PORT`.
 * @property {string} invocationsUrl `${url}/invocations`.
 * @property {number} port
 * @property {number} calls Number of /invocations requests received so far (faulted ones included).
 * @property {() => Promise<void>} close Stops listening and destroys open connections (hanging requests included).
 */

/** @typedef {[number, number]} Position */
/**
 * @typedef {object} FeatureClass
 * @property {string} iri
 * @property {number} score
 */
/**
 * @typedef {object} ModelFeatureProperties
 * @property {{ type: 'Polygon', coordinates: Position[][] }} imageGeometry Closed ring, pixel-edge coordinates.
 * @property {[number, number, number, number]} imageBBox `[minx, miny, maxx, maxy]`, pixel edges (exclusive max).
 * @property {FeatureClass[]} featureClasses
 */
/**
 * @typedef {object} ModelFeature
 * @property {'Feature'} type
 * @property {string} id
 * @property {null} geometry
 * @property {ModelFeatureProperties} properties
 */
/**
 * @typedef {object} ModelFeatureCollection
 * @property {'FeatureCollection'} type
 * @property {ModelFeature[]} features
 */

/**
 * @typedef {object} BlobStats One connected component, in pixel-edge coordinates.
 * @property {number} minX
 * @property {number} minY
 * @property {number} maxX exclusive
 * @property {number} maxY exclusive
 * @property {number} pixels
 * @property {number} meanBrightness 0-255, of the per-pixel max over colour channels.
 */

export const DEFAULT_THRESHOLD = 200;
export const DEFAULT_MIN_PIXELS = 4;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_FAULT_CALLS = 2;
export const BLOB_IRI = 'bright_blob';
export const CENTER_IRI = 'center';

const MODES = /** @type {const} */ (['blobs', 'center']);
const FAULTS = /** @type {const} */ (['error500', 'hang', 'not-json', 'wrong-shape', 'throttle', 'flaky']);

/** The body is not a PNG, JPEG or TIFF that decodes. The server answers 400. */
export class InvalidImageError extends Error {
  /** @param {string} message @param {unknown} [cause] */
  constructor(message, cause) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'InvalidImageError';
    /** @readonly */
    this.statusCode = 400;
  }
}

/**
 * Which of the accepted encodings the bytes start with.
 * @param {Uint8Array} b
 * @returns {'png' | 'jpeg' | 'tiff' | undefined}
 */
export function sniffImageFormat(b) {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 4) {
    // "II*\0" / "MM\0*", and BigTIFF "II+\0" / "MM\0+".
    if (b[0] === 0x49 && b[1] === 0x49 && (b[2] === 0x2a || b[2] === 0x2b) && b[3] === 0) return 'tiff';
    if (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && (b[3] === 0x2a || b[3] === 0x2b)) return 'tiff';
  }
  return undefined;
}

/**
 * @param {Buffer} bytes
 * @returns {'png' | 'jpeg' | 'tiff'}
 */
function requireImage(bytes) {
  if (bytes.length === 0) throw new InvalidImageError('empty request body: expected an encoded image tile');
  const format = sniffImageFormat(bytes);
  if (!format) throw new InvalidImageError('body is not a PNG, JPEG or TIFF image');
  return format;
}

// Scratch space for run-length labelling, grown on demand and reused. Safe to share: the labelling runs
// synchronously, with no await between filling and reading it.
let runStart = new Int32Array(4096);
let runEnd = new Int32Array(4096);
let runRow = new Int32Array(4096);
let runParent = new Int32Array(4096);
let runSum = new Float64Array(4096);

/** @param {number} need */
function ensureRuns(need) {
  if (need <= runStart.length) return;
  let n = runStart.length;
  while (n < need) n *= 2;
  /** @template {Int32Array | Float64Array} T @param {T} a @param {T} b @returns {T} */
  const grow = (a, b) => (b.set(a), b);
  runStart = grow(runStart, new Int32Array(n));
  runEnd = grow(runEnd, new Int32Array(n));
  runRow = grow(runRow, new Int32Array(n));
  runParent = grow(runParent, new Int32Array(n));
  runSum = grow(runSum, new Float64Array(n));
}

/** @param {number} i */
function find(i) {
  let r = i;
  while (runParent[r] !== r) r = /** @type {number} */ (runParent[r]);
  // Path compression.
  while (runParent[i] !== r) {
    const next = /** @type {number} */ (runParent[i]);
    runParent[i] = r;
    i = next;
  }
  return r;
}

/**
 * Bright connected components of interleaved 8-bit pixels. Brightness is the max over the colour channels
 * (an alpha channel is ignored). Run-length labelling with union-find: no recursion, no per-pixel allocation.
 * @param {Uint8Array} data `width * height * channels` bytes, row-major, interleaved.
 * @param {number} width
 * @param {number} height
 * @param {number} channels
 * @param {{ threshold?: number, minPixels?: number, connectivity?: 4 | 8, hasAlpha?: boolean }} [options]
 * @returns {BlobStats[]} in raster order of each component's first pixel.
 */
export function findBlobs(data, width, height, channels, options = {}) {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const minPixels = Math.max(1, options.minPixels ?? DEFAULT_MIN_PIXELS);
  const diagonal = options.connectivity === 8 ? 1 : 0;
  const hasAlpha = options.hasAlpha ?? (channels === 2 || channels === 4);
  const colour = hasAlpha ? channels - 1 : channels;
  if (data.length < width * height * channels)
    throw new RangeError('pixel buffer is smaller than width*height*channels');

  let runs = 0;
  let prevFirst = 0; // runs [prevFirst, prevLast) are on the previous row
  let prevLast = 0;
  for (let y = 0; y < height; y++) {
    const rowFirst = runs;
    let p = y * width * channels;
    let open = -1;
    let sum = 0;
    for (let x = 0; x < width; x++, p += channels) {
      let v = /** @type {number} */ (data[p]);
      if (colour === 3) {
        const g = /** @type {number} */ (data[p + 1]);
        const b = /** @type {number} */ (data[p + 2]);
        if (g > v) v = g;
        if (b > v) v = b;
      } else if (colour > 1) {
        for (let c = 1; c < colour; c++) {
          const w = /** @type {number} */ (data[p + c]);
          if (w > v) v = w;
        }
      }
      if (v >= threshold) {
        if (open < 0) {
          open = x;
          sum = 0;
        }
        sum += v;
      } else if (open >= 0) {
        ensureRuns(runs + 1);
        runStart[runs] = open;
        runEnd[runs] = x;
        runRow[runs] = y;
        runSum[runs] = sum;
        runParent[runs] = runs;
        runs++;
        open = -1;
      }
    }
    if (open >= 0) {
      ensureRuns(runs + 1);
      runStart[runs] = open;
      runEnd[runs] = width;
      runRow[runs] = y;
      runSum[runs] = sum;
      runParent[runs] = runs;
      runs++;
    }
    // Join each run of this row to the runs of the previous row it touches (two pointers; both rows are sorted).
    if (prevLast > prevFirst && runs > rowFirst) {
      let j = prevFirst;
      for (let i = rowFirst; i < runs; i++) {
        const s = /** @type {number} */ (runStart[i]) - diagonal;
        const e = /** @type {number} */ (runEnd[i]) + diagonal;
        while (j < prevLast && /** @type {number} */ (runEnd[j]) <= s) j++;
        for (let k = j; k < prevLast && /** @type {number} */ (runStart[k]) < e; k++) {
          const a = find(i);
          const b = find(k);
          if (a !== b) {
            if (a < b) runParent[b] = a;
            else runParent[a] = b;
          }
        }
      }
    }
    prevFirst = rowFirst;
    prevLast = runs;
  }

  // Fold runs into their roots. Roots always have the smallest index of their set, so the first run of a
  // component is its root and components come out in raster order.
  /** @type {Map<number, BlobStats & { sum: number }>} */
  const byRoot = new Map();
  for (let i = 0; i < runs; i++) {
    const r = find(i);
    const s = /** @type {number} */ (runStart[i]);
    const e = /** @type {number} */ (runEnd[i]);
    const y = /** @type {number} */ (runRow[i]);
    const stats = byRoot.get(r);
    if (stats === undefined) {
      byRoot.set(r, {
        minX: s,
        minY: y,
        maxX: e,
        maxY: y + 1,
        pixels: e - s,
        sum: /** @type {number} */ (runSum[i]),
        meanBrightness: 0,
      });
    } else {
      if (s < stats.minX) stats.minX = s;
      if (e > stats.maxX) stats.maxX = e;
      if (y + 1 > stats.maxY) stats.maxY = y + 1;
      stats.pixels += e - s;
      stats.sum += /** @type {number} */ (runSum[i]);
    }
  }
  /** @type {BlobStats[]} */
  const out = [];
  for (const { sum, ...stats } of byRoot.values()) {
    if (stats.pixels < minPixels) continue;
    stats.meanBrightness = sum / stats.pixels;
    out.push(stats);
  }
  return out;
}

/**
 * One feature in OSML's model-output format.
 * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1
 * @param {string} iri @param {number} score
 * @returns {ModelFeature}
 */
export function boxFeature(x0, y0, x1, y1, iri, score) {
  return {
    type: 'Feature',
    id: randomUUID(),
    geometry: null,
    properties: {
      imageGeometry: {
        type: 'Polygon',
        coordinates: [
          [
            [x0, y0],
            [x1, y0],
            [x1, y1],
            [x0, y1],
            [x0, y0],
          ],
        ],
      },
      imageBBox: [x0, y0, x1, y1],
      featureClasses: [{ iri, score }],
    },
  };
}

/** @param {number} v */
const round3 = (v) => Math.round(v * 1000) / 1000;

/**
 * The model: one encoded tile in, a FeatureCollection in tile pixel coordinates out. No HTTP involved.
 * @param {Buffer} bytes PNG, JPEG or TIFF (sniffed from the bytes).
 * @param {ModelOptions} [options]
 * @returns {Promise<ModelFeatureCollection>}
 * @throws {InvalidImageError} when the bytes are not an image that decodes.
 */
export async function handleInvocation(bytes, options = {}) {
  requireImage(bytes);
  const mode = options.mode ?? 'blobs';
  if (mode === 'center') {
    let meta;
    try {
      meta = await sharp(bytes).metadata();
    } catch (err) {
      throw new InvalidImageError(`cannot decode image: ${errorMessage(err)}`, err);
    }
    const { width, height } = meta;
    if (!width || !height) throw new InvalidImageError('image has no dimensions');
    return {
      type: 'FeatureCollection',
      features: [
        boxFeature((width * 45) / 100, (height * 45) / 100, (width * 55) / 100, (height * 55) / 100, CENTER_IRI, 1.0),
      ],
    };
  }
  if (mode !== 'blobs') throw new TypeError(`unknown mode ${JSON.stringify(mode)}`);

  let decoded;
  try {
    // sharp yields 8-bit sRGB (or grey) here whatever the input depth; 16-bit inputs are scaled.
    decoded = await sharp(bytes).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new InvalidImageError(`cannot decode image: ${errorMessage(err)}`, err);
  }
  const { data, info } = decoded;
  const blobs = findBlobs(data, info.width, info.height, info.channels, {
    threshold: options.threshold ?? DEFAULT_THRESHOLD,
    minPixels: options.minPixels ?? DEFAULT_MIN_PIXELS,
    connectivity: options.connectivity ?? 4,
    hasAlpha: info.hasAlpha,
  });
  return {
    type: 'FeatureCollection',
    features: blobs.map((b) => boxFeature(b.minX, b.minY, b.maxX, b.maxY, BLOB_IRI, round3(b.meanBrightness / 255))),
  };
}

/** @param {unknown} err */
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 * @param {string} [contentType]
 * @param {Record<string, string>} [headers]
 */
function send(res, status, body, contentType = 'application/json', headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Reads the whole body, or answers 413 and returns undefined when it is over the limit.
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 * @param {number} limit
 * @returns {Promise<Buffer | undefined>}
 */
function readBody(req, res, limit) {
  return new Promise((resolve, reject) => {
    /** @param {number} size */
    const tooLarge = (size) => {
      send(
        res,
        413,
        { error: `request body of ${size} bytes is over the limit of ${limit} bytes` },
        'application/json',
        {
          Connection: 'close',
        },
      );
      // Let the rest of the upload drain so the client sees the 413 rather than a reset.
      req.resume();
      resolve(undefined);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return tooLarge(declared);
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    let over = false;
    req.on('data', (/** @type {Buffer} */ chunk) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        tooLarge(size);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(chunks.length === 1 ? /** @type {Buffer} */ (chunks[0]) : Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

/**
 * Starts the model server.
 * @param {ModelServerOptions} [options]
 * @returns {Promise<ModelServer>}
 */
export async function startModelServer(options = {}) {
  const mode = options.mode ?? 'blobs';
  if (!MODES.includes(mode))
    throw new TypeError(`unknown mode ${JSON.stringify(mode)}; expected one of ${MODES.join(', ')}`);
  const fault = options.fault;
  if (fault !== undefined && !FAULTS.includes(fault)) {
    throw new TypeError(`unknown fault ${JSON.stringify(fault)}; expected one of ${FAULTS.join(', ')}`);
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const faultCalls = options.faultCalls ?? DEFAULT_FAULT_CALLS;
  /** @type {ModelOptions} */
  const model = {
    mode,
    threshold: options.threshold ?? DEFAULT_THRESHOLD,
    minPixels: options.minPixels ?? DEFAULT_MIN_PIXELS,
    connectivity: options.connectivity ?? 4,
  };
  let calls = 0;
  /** Tile digests already failed once, for `flaky`. */
  const seen = new Set();

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  const invocations = async (req, res) => {
    const call = ++calls;
    const body = await readBody(req, res, maxBodyBytes);
    if (body === undefined) return;
    switch (fault) {
      case 'error500':
        return send(res, 500, { error: 'injected fault: error500' });
      case 'hang':
        return; // never answer; close() destroys the connection
      case 'not-json':
        return send(res, 200, 'this is not JSON {', 'application/geo+json');
      case 'wrong-shape':
        return send(
          res,
          200,
          { predictions: [{ box: [0, 0, 10, 10], label: BLOB_IRI, confidence: 0.9 }] },
          'application/geo+json',
        );
      case 'throttle':
        if (call <= faultCalls)
          return send(res, 429, { error: `injected fault: throttled (call ${call} of ${faultCalls})` });
        break;
      case 'flaky': {
        const digest = createHash('sha1').update(body).digest('base64');
        if (!seen.has(digest)) {
          seen.add(digest);
          return send(res, 500, { error: 'injected fault: flaky (first call for this tile)' });
        }
        break;
      }
      default:
        break;
    }
    try {
      const result = await handleInvocation(body, model);
      send(res, 200, result, 'application/geo+json');
    } catch (err) {
      if (err instanceof InvalidImageError) send(res, 400, { error: err.message });
      else send(res, 500, { error: `model failed: ${errorMessage(err)}` });
    }
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/ping') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return send(res, 405, { error: 'use GET /ping' }, 'application/json', { Allow: 'GET, HEAD' });
      return send(res, 200, { status: 'healthy' });
    }
    if (path === '/invocations') {
      if (req.method !== 'POST')
        return send(res, 405, { error: 'use POST /invocations' }, 'application/json', { Allow: 'POST' });
      invocations(req, res).catch((err) => send(res, 500, { error: `request failed: ${errorMessage(err)}` }));
      return;
    }
    send(res, 404, { error: `no route for ${req.method} ${path}` });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  /** @type {Promise<void> | undefined} */
  let closing;
  return {
    url,
    invocationsUrl: `${url}/invocations`,
    port: address.port,
    get calls() {
      return calls;
    },
    close() {
      closing ??= new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

const USAGE = `usage: node examples/model-server/server.mjs [options]
  --port N            port (default $SAGEMAKER_BIND_TO_PORT or 8080; 0 = any free port)
  --host H            interface (default 127.0.0.1; 0.0.0.0 inside a container)
  --mode M            blobs (default) | center
  --threshold N       brightness threshold 0-255 (default ${DEFAULT_THRESHOLD})
  --min-pixels N      smallest blob reported (default ${DEFAULT_MIN_PIXELS})
  --connectivity N    4 (default) | 8
  --fault F           ${FAULTS.join(' | ')}
  --fault-calls N     calls refused by --fault throttle (default ${DEFAULT_FAULT_CALLS})
  --max-body-bytes N  request body limit (default ${DEFAULT_MAX_BODY_BYTES})`;

/** @param {string[]} argv */
async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      mode: { type: 'string' },
      threshold: { type: 'string' },
      'min-pixels': { type: 'string' },
      connectivity: { type: 'string' },
      fault: { type: 'string' },
      'fault-calls': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true, // SageMaker starts containers with `serve`
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  /** @param {string | undefined} v @param {string} name */
  const num = (v, name) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new TypeError(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
    return n;
  };
  const connectivity = num(values.connectivity, 'connectivity');
  if (connectivity !== undefined && connectivity !== 4 && connectivity !== 8)
    throw new TypeError('--connectivity must be 4 or 8');
  const conn = /** @type {4 | 8 | undefined} */ (connectivity);
  const server = await startModelServer({
    port: num(values.port ?? process.env['SAGEMAKER_BIND_TO_PORT'] ?? '8080', 'port'),
    host: values.host ?? '127.0.0.1',
    mode: /** @type {ModelMode | undefined} */ (values.mode),
    threshold: num(values.threshold, 'threshold'),
    minPixels: num(values['min-pixels'], 'min-pixels'),
    connectivity: conn,
    fault: /** @type {FaultMode | undefined} */ (values.fault),
    faultCalls: num(values['fault-calls'], 'fault-calls'),
    maxBodyBytes: num(values['max-body-bytes'], 'max-body-bytes'),
  });
  process.stderr.write(
    `model server (${values.mode ?? 'blobs'}${values.fault ? `, fault ${values.fault}` : ''}) listening on ${server.url}\n`,
  );
  const stop = () => {
    process.stderr.write('model server closing\n');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const isMain = (() => {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`model server: ${errorMessage(err)}\n${USAGE}\n`);
    process.exit(2);
  });
}
