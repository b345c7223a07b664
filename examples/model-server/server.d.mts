// Types for server.mjs, for TypeScript importers (the repo's tsconfig does not enable allowJs). Generated from the
// JSDoc in server.mjs; regenerate after changing its API:
//   npx tsc --allowJs --declaration --emitDeclarationOnly --module nodenext --moduleResolution nodenext \
//     --target es2022 --skipLibCheck --strict --outDir examples/model-server examples/model-server/server.mjs

/**
 * Which of the accepted encodings the bytes start with.
 * @param {Uint8Array} b
 * @returns {'png' | 'jpeg' | 'tiff' | undefined}
 */
export function sniffImageFormat(b: Uint8Array): 'png' | 'jpeg' | 'tiff' | undefined;
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
export function findBlobs(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  options?: {
    threshold?: number;
    minPixels?: number;
    connectivity?: 4 | 8;
    hasAlpha?: boolean;
  },
): BlobStats[];
/**
 * One feature in OSML's model-output format.
 * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1
 * @param {string} iri @param {number} score
 * @returns {ModelFeature}
 */
export function boxFeature(x0: number, y0: number, x1: number, y1: number, iri: string, score: number): ModelFeature;
/**
 * The model: one encoded tile in, a FeatureCollection in tile pixel coordinates out. No HTTP involved.
 * @param {Buffer} bytes PNG, JPEG or TIFF (sniffed from the bytes).
 * @param {ModelOptions} [options]
 * @returns {Promise<ModelFeatureCollection>}
 * @throws {InvalidImageError} when the bytes are not an image that decodes.
 */
export function handleInvocation(bytes: Buffer, options?: ModelOptions): Promise<ModelFeatureCollection>;
/**
 * Starts the model server.
 * @param {ModelServerOptions} [options]
 * @returns {Promise<ModelServer>}
 */
export function startModelServer(options?: ModelServerOptions): Promise<ModelServer>;
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
export const DEFAULT_THRESHOLD: 200;
export const DEFAULT_MIN_PIXELS: 4;
export const DEFAULT_MAX_BODY_BYTES: number;
export const DEFAULT_FAULT_CALLS: 2;
export const BLOB_IRI: 'bright_blob';
export const CENTER_IRI: 'center';
/** The body is not a PNG, JPEG or TIFF that decodes. The server answers 400. */
export class InvalidImageError extends Error {
  /** @param {string} message @param {unknown} [cause] */
  constructor(message: string, cause?: unknown);
  /** @readonly */
  readonly statusCode: number;
}
export type ModelMode = 'blobs' | 'center';
export type FaultMode = 'error500' | 'hang' | 'not-json' | 'wrong-shape' | 'throttle' | 'flaky';
export type ModelOptions = {
  /**
   * `blobs` (default): one feature per bright connected component; `center`: one box of
   * 10% of the tile size centred on the tile, like OSML's "centerpoint" test model.
   */
  mode?: ModelMode | undefined;
  /**
   * A pixel is "bright" when the max over its colour channels is >= this (0-255, default 200).
   */
  threshold?: number | undefined;
  /**
   * Smallest component reported, in pixels (default 4).
   */
  minPixels?: number | undefined;
  /**
   * Pixel neighbourhood for components (default 4).
   */
  connectivity?: 4 | 8 | undefined;
};
export type ModelServerOptions = {
  /**
   * TCP port; 0 (default) picks a free one.
   */
  port?: number | undefined;
  /**
   * Interface to listen on (default '127.0.0.1').
   */
  host?: string | undefined;
  mode?: ModelMode | undefined;
  threshold?: number | undefined;
  minPixels?: number | undefined;
  connectivity?: 4 | 8 | undefined;
  /**
   * Misbehave on /invocations, to test a caller's error handling:
   * `error500` always 500; `hang` never answers; `not-json` 200 with a body that is not JSON; `wrong-shape` 200 with
   * JSON that is not a FeatureCollection; `throttle` 429 for the first `faultCalls` calls, then normal; `flaky` 500 on
   * the first call for each distinct tile body, normal on a repeat of it.
   */
  fault?: FaultMode | undefined;
  /**
   * How many calls `throttle` refuses (default 2).
   */
  faultCalls?: number | undefined;
  /**
   * Largest accepted request body (default 64 MiB); larger → 413.
   */
  maxBodyBytes?: number | undefined;
};
export type ModelServer = {
  /**
   * Base URL, e.g. `http://127.0.0.1:PORT`.
   */
  url: string;
  /**
   * `${url}/invocations`.
   */
  invocationsUrl: string;
  port: number;
  /**
   * Number of /invocations requests received so far (faulted ones included).
   */
  calls: number;
  /**
   * Stops listening and destroys open connections (hanging requests included).
   */
  close: () => Promise<void>;
};
export type Position = [number, number];
export type FeatureClass = {
  iri: string;
  score: number;
};
export type ModelFeatureProperties = {
  /**
   * Closed ring, pixel-edge coordinates.
   */
  imageGeometry: {
    type: 'Polygon';
    coordinates: Position[][];
  };
  /**
   * `[minx, miny, maxx, maxy]`, pixel edges (exclusive max).
   */
  imageBBox: [number, number, number, number];
  featureClasses: FeatureClass[];
};
export type ModelFeature = {
  type: 'Feature';
  id: string;
  geometry: null;
  properties: ModelFeatureProperties;
};
export type ModelFeatureCollection = {
  type: 'FeatureCollection';
  features: ModelFeature[];
};
/**
 * One connected component, in pixel-edge coordinates.
 */
export type BlobStats = {
  minX: number;
  minY: number;
  /**
   * exclusive
   */
  maxX: number;
  /**
   * exclusive
   */
  maxY: number;
  pixels: number;
  /**
   * 0-255, of the per-pixel max over colour channels.
   */
  meanBrightness: number;
};
