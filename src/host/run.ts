/**
 * Processing one image end to end: boot (or reuse a boot), select the pair exactly as `resolve`
 * does, read the image window by window, let the image handler send tiles to the model, then
 * de-duplicate, geolocate, stamp and write the features. The runner's orchestrator.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ImageProcessor, ProcessingResult, TileFailure, TileListener } from '../handlers/types.js';
import { dedupe } from '../runner/dedupe.js';
import { createGeolocator, geolocateFeature } from '../runner/geolocate.js';
import { locateImage, type ImageFetcher } from '../runner/locate.js';
import { openImage } from '../runner/read.js';
import { buildRunRequest, type RunOptions, type RunRequest } from '../runner/request.js';
import { parseRoi, roiPixelBounds } from '../runner/roi.js';
import { planTiles } from '../runner/tile.js';
import { writeFeaturesToFile, writeFeaturesToStream } from '../runner/write.js';
import { inferRequestType, pickRequestType } from '../select/resolve.js';
import { createAwsServices, type AwsServicesOptions } from '../services/aws.js';
import { HttpModelInvoker } from '../services/http-model.js';
import type { Feature } from '../shared/geojson.js';
import { silentLogger, type Deps, type Logger } from '../shared/types.js';
import { loadExtensions, type Extensions, type LoadExtensionsOptions } from './extensions.js';

/** What to run: an image and/or an OSML ImageRequest, and the `run` options (which win). */
export interface RunInput {
  /** The image (path or URL); beats `request.imageUrls[0]`. */
  image?: string;
  /** An OSML ImageRequest document (parsed JSON). */
  request?: unknown;
  /** How messages name the request, e.g. its file name. @default 'the request' */
  requestSource?: string;
  options?: RunOptions;
}

/** How to run it. */
export interface RunImageOptions extends LoadExtensionsOptions {
  /** An existing boot to reuse; otherwise one is made from the options above. */
  extensions?: Extensions;
  /** The request type to use; beats `REQUEST_TYPE` and the config, as for `resolve`. */
  requestType?: string;
  /** Services for the handlers; merged over the host's (an HTTP model invoker). */
  deps?: Deps;
  /** Tiles in flight at once. @default 8 */
  concurrency?: number;
  /** Told after each tile (progress). */
  onTile?: TileListener;
  /** Called once the tile count is known (as the built-in handlers cut the image). */
  onPlan?: (tiles: number) => void;
  /** Where `--out -` writes. @default process.stdout */
  stdout?: NodeJS.WritableStream;
  /** Extra image URL schemes, by protocol (`'s3:'`). */
  fetchers?: Record<string, ImageFetcher>;
  /** Where async SageMaker tiles go, `s3://bucket/prefix/`; beats the config's `asyncInputLocation`. */
  asyncInputLocation?: string;
  /** The AWS services' settings (async polling, limits, timeouts); region and credentials come from the SDK's chain. */
  aws?: Omit<AwsServicesOptions, 'logger' | 'asyncInputLocation'>;
  /** Writers for output types other than `File`; the host's own `S3` writer unless given. */
  sinks?: Record<
    string,
    (features: readonly Feature[], output: RunRequest['outputs'][number], run: RunRequest) => Promise<string>
  >;
}

/** The outcome: `SUCCESS` (every tile answered), `PARTIAL` (some failed) or `FAILED` (all failed). */
export interface RunSummary {
  status: 'SUCCESS' | 'PARTIAL' | 'FAILED';
  jobId: string;
  requestType: string;
  tiles: number;
  failedTiles: TileFailure[];
  features: number;
  /** Where the features went: the first output (a path, `-` or a URL), or null when nothing was written. */
  out: string | null;
  /** Every output written, in request order. */
  outputs: string[];
  durationMs: number;
}

/** The features as OSML writes them: geolocated, stamped with the job, and the request's properties merged in. */
function finish(
  features: Feature[],
  run: RunRequest,
  inferenceDT: string,
  locate: ((f: Feature) => Feature) | undefined,
): Feature[] {
  return features.map((feature) => {
    const located = locate === undefined ? feature : locate(feature);
    const properties: Record<string, unknown> = {
      ...located.properties,
      inferenceMetadata: { jobId: run.jobId, inferenceDT },
    };
    for (const extra of run.featureProperties) Object.assign(properties, extra);
    return { ...located, properties };
  });
}

/**
 * Run one image through the selected pair and write the features.
 *
 * @throws ExtensionError when the run cannot start (REQUEST_INVALID, UNSUPPORTED, IMAGE_UNREADABLE,
 *   IMAGE_UNSUPPORTED, a selection error) or the output cannot be written (OUTPUT_FAILED). Failed
 *   tiles are not thrown: they make the summary PARTIAL or FAILED.
 * @example
 * const summary = await runImage({ image: 'scene.tif', options: { endpoint: 'http://localhost:8080/invocations', out: 'out.geojson' } });
 */
export async function runImage(input: RunInput, options: RunImageOptions = {}): Promise<RunSummary> {
  const started = performance.now();
  const logger: Logger = options.logger ?? silentLogger;
  const run = buildRunRequest({
    ...input,
    ...(input.requestSource === undefined ? {} : { requestSource: input.requestSource }),
  });
  const ext = options.extensions ?? (await loadExtensions(options));
  // An endpoint name does not say whether the SageMaker endpoint is real-time or async: the request type in force does.
  const picked = pickRequestType({ requestType: options.requestType, endpoint: run.endpointType }, ext.config);
  const asyncName = run.endpointType === 'sagemaker' && picked.requestType === inferRequestType('async_sagemaker');
  const selection = ext.resolve({
    requestType: options.requestType,
    endpoint: asyncName ? 'async_sagemaker' : run.endpointType,
  });

  // The SDK is loaded, and its clients made, only when an s3:// URL, an S3 output or a handler needs it.
  const aws = createAwsServices({
    logger,
    ...options.aws,
    asyncInputLocation: options.asyncInputLocation ?? ext.config.asyncInputLocation,
  });
  const sinks = { ...aws.sinks, ...options.sinks };
  const needsSageMaker = [selection.region, selection.image].some((h) => h.requires?.includes('sagemakerRuntime'));
  // libvips caches decoded images process-wide; a run reads every window once, so the cache only
  // grows (a program at 16384² peaked over 500 MB with it on). Off, memory stays flat.
  const { default: sharp } = await import('sharp');
  sharp.cache(false);
  const located = await locateImage(run.imageUrl, { ...aws.fetchers, ...options.fetchers }, ext.config.cwd).catch(
    (error: unknown) => {
      aws.close();
      throw error;
    },
  );
  try {
    const source = await openImage(located.file, { label: located.label });
    for (const warning of source.warnings) logger.warn({ event: 'run.warning', image: located.label }, warning);
    const locator = source.georef === undefined ? undefined : createGeolocator(source.georef);
    const area =
      run.regionOfInterest === undefined ? undefined : roiPixelBounds(parseRoi(run.regionOfInterest), locator, source);

    const deps: Deps = {
      modelInvoker: new HttpModelInvoker(),
      logger,
      concurrency: options.concurrency ?? 8,
      tiling: { regionSize: run.regionSize, tileSize: run.tileSize, tileOverlap: run.tileOverlap },
      ...(needsSageMaker ? { sagemakerRuntime: aws.sagemakerRuntime } : {}),
      ...options.deps,
    };
    const sizes = {
      regionSize: Math.max(run.regionSize, run.tileSize),
      tileSize: run.tileSize,
      tileOverlap: run.tileOverlap,
    };
    const plan = planTiles(area ?? { x: 0, y: 0, width: source.width, height: source.height }, sizes);
    options.onPlan?.(plan.regions.reduce((sum, r) => sum + r.tiles.length, 0));
    const pair = await ext.instantiate(selection, deps);
    const handler = pair.image as ImageProcessor;
    logger.info(
      {
        event: 'run.start',
        jobId: run.jobId,
        image: located.label,
        width: source.width,
        height: source.height,
        requestType: selection.requestType,
        endpoint: run.endpoint,
      },
      'processing image',
    );

    const result: ProcessingResult = await handler.processImageRequest({
      imageId: `${run.jobId}:${run.imageUrl}`,
      endpoint: run.endpoint,
      width: source.width,
      height: source.height,
      ...(area === undefined ? {} : { area }),
      regionSize: run.regionSize,
      tileSize: run.tileSize,
      tileOverlap: run.tileOverlap,
      image: source,
      tileEncoding: { format: run.tileFormat, compression: run.tileCompression },
      parameters: run.parameters,
      ...(options.onTile === undefined ? {} : { onTile: options.onTile }),
    });
    const failedTiles = result.failedTiles ?? [];
    const tiles = result.tiles ?? 0;
    const status = failedTiles.length === 0 ? 'SUCCESS' : failedTiles.length < tiles ? 'PARTIAL' : 'FAILED';

    const kept = dedupe(result.features, run.postProcessing);
    const inferenceDT = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const features = finish(
      kept,
      run,
      inferenceDT,
      locator === undefined ? undefined : (f) => geolocateFeature(f, locator),
    );

    const out: string[] = [];
    if (status !== 'FAILED') {
      for (const output of run.outputs) {
        if (output.type === 'File' && output.path === '-') {
          await writeFeaturesToStream(features, options.stdout ?? process.stdout);
          out.push('-');
        } else if (output.type === 'File') {
          await writeFeaturesToFile(features, path.resolve(ext.config.cwd, output.path), output.path);
          out.push(output.path);
        } else {
          out.push(await sinks[output.type]!(features, output, run));
        }
      }
    }
    const summary: RunSummary = {
      status,
      jobId: run.jobId,
      requestType: selection.requestType,
      tiles,
      failedTiles,
      features: features.length,
      out: out[0] ?? null,
      outputs: out,
      durationMs: Math.round(performance.now() - started),
    };
    const level = status === 'SUCCESS' ? 'info' : 'warn';
    logger[level](
      {
        event: 'run.done',
        ...summary,
        failedTiles: failedTiles.map((f) => f.tile),
        beforeDedupe: result.features.length,
      },
      'image processed',
    );
    return summary;
  } finally {
    await located.release();
    aws.close();
  }
}
