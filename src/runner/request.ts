/**
 * The image request: OSML's ImageRequest JSON (validated with zod, every bad field reported) and the
 * `run` options, both turned into one fully defaulted {@link RunRequest}.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ExtensionError } from '../shared/errors.js';
import { formatIssues } from '../shared/format-issues.js';

/** Tile encodings a model can be sent. OSML's NITF is refused with UNSUPPORTED, never substituted. */
export const TILE_FORMATS = ['PNG', 'JPEG', 'GTIFF'] as const;
/** Compressions of a GTIFF tile (PNG and JPEG carry their own). OSML's J2K is refused with UNSUPPORTED. */
export const TILE_COMPRESSIONS = ['NONE', 'JPEG', 'LZW', 'DEFLATE'] as const;
/** De-duplication across tile overlaps. */
export const POST_PROCESSING = ['NMS', 'SOFT_NMS', 'NONE'] as const;

/** Where the features go. `File` is this runner's own sink (`--out`); `S3` is OSML's. */
export type RunOutput = { type: 'File'; path: string } | { type: 'S3'; bucket: string; prefix: string };

/** A fully defaulted request, whatever it came from. */
export interface RunRequest {
  /** OSML's job id: stamped on every feature as `inferenceMetadata.jobId`. */
  jobId: string;
  /** The image: a local path, a `file://` or an `http(s)://` URL. */
  imageUrl: string;
  /** The model: a URL for `http`, an endpoint name for SageMaker. */
  endpoint: string;
  /** `http` or `sagemaker`, from `imageProcessor.type` or the form of `endpoint`; feeds the selection. */
  endpointType: 'http' | 'sagemaker';
  /** Passed to the model invoker (SageMaker's `CustomAttributes`, `TargetVariant`, …). */
  parameters: Record<string, unknown>;
  tileSize: number;
  tileOverlap: number;
  regionSize: number;
  tileFormat: (typeof TILE_FORMATS)[number];
  tileCompression: (typeof TILE_COMPRESSIONS)[number];
  /** WKT, lon/lat (pixels when the image has no georeferencing). */
  regionOfInterest?: string;
  /** Merged, in order, into every feature's properties. */
  featureProperties: Record<string, unknown>[];
  postProcessing: {
    algorithm: (typeof POST_PROCESSING)[number];
    iouThreshold: number;
    sigma: number;
    skipBoxThreshold: number;
  };
  outputs: RunOutput[];
}

/** Defaults, as OSML documents them (tile 1024 / overlap 50, region 10240, NMS at IoU 0.75). */
export const RUN_DEFAULTS = {
  tileSize: 1024,
  tileOverlap: 50,
  regionSize: 10240,
  tileFormat: 'PNG',
  tileCompression: 'NONE',
  iouThreshold: 0.75,
  sigma: 0.1,
  skipBoxThreshold: 0.0001,
} as const;

/** OSML reads tile sizes with `int(value)`, so `"512"` is accepted as well as `512`. */
const intLike = z.union([
  z.number().int(),
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number),
]);
const unit = z.number().min(0).max(1);

const algorithmSchema = z.strictObject({
  algorithmType: z.enum(['NMS', 'SOFT_NMS']),
  iouThreshold: unit.optional(),
  skipBoxThreshold: unit.optional(),
  sigma: z.number().positive().optional(),
});

const outputSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('S3'), bucket: z.string().min(1), prefix: z.string(), role: z.string().optional() }),
  z.strictObject({
    type: z.literal('Kinesis'),
    stream: z.string().min(1),
    batchSize: z.number().optional(),
    assumedRole: z.string().optional(),
  }),
]);

/** OSML's ImageRequest, as its MODELRUNNER_API.md describes it. Unknown keys are refused (a typo is the usual cause). */
const imageRequestSchema = z.strictObject({
  jobId: z.string().min(1).optional(),
  jobName: z.string().optional(),
  imageUrls: z.array(z.string().min(1)).min(1),
  imageReadRole: z.string().optional(),
  outputs: z.array(outputSchema).optional(),
  outputBucket: z.string().optional(),
  outputPrefix: z.string().optional(),
  imageProcessor: z.strictObject({
    name: z.string().min(1),
    type: z.enum(['HTTP_ENDPOINT', 'SM_ENDPOINT']).default('SM_ENDPOINT'),
    assumedRole: z.string().optional(),
  }),
  imageProcessorParameters: z.record(z.string(), z.unknown()).optional(),
  imageProcessorTileSize: intLike.pipe(z.number().min(1)).optional(),
  imageProcessorTileOverlap: intLike.pipe(z.number().min(0)).optional(),
  imageProcessorTileFormat: z.string().optional(),
  imageProcessorTileCompression: z.string().optional(),
  regionOfInterest: z.string().min(1).optional(),
  featureProperties: z.array(z.record(z.string(), z.unknown())).optional(),
  postProcessing: z
    .array(z.strictObject({ step: z.literal('FEATURE_DISTILLATION'), algorithm: algorithmSchema }))
    .max(1, 'at most one FEATURE_DISTILLATION step')
    .optional(),
});

/** The ImageRequest as it is written: the input type of {@link parseImageRequest}. */
export type ImageRequestJson = z.input<typeof imageRequestSchema>;

const KNOWN_KEYS = Object.keys(imageRequestSchema.shape);

/** What `run`'s flags (or a library caller) may set; each one beats the request file's field. */
export interface RunOptions {
  endpoint?: string | undefined;
  out?: string | undefined;
  tileSize?: number | undefined;
  tileOverlap?: number | undefined;
  regionSize?: number | undefined;
  tileFormat?: string | undefined;
  tileCompression?: string | undefined;
  roi?: string | undefined;
  postProcessing?: string | undefined;
  iou?: number | undefined;
  featureProperties?: Record<string, unknown> | undefined;
  jobId?: string | undefined;
}

/** `http(s)://…` is an HTTP model; anything else names a SageMaker endpoint. */
const endpointTypeOf = (endpoint: string): 'http' | 'sagemaker' =>
  /^https?:\/\//i.test(endpoint) ? 'http' : 'sagemaker';

const requestProblems = (issues: readonly z.core.$ZodIssue[]): string[] =>
  formatIssues(issues, KNOWN_KEYS).map((p) => p.replace('(root)', 'the request'));

/** Parse and check an ImageRequest document; `where` names it in the error (a file name, `the request`). */
export function parseImageRequest(value: unknown, where: string): z.output<typeof imageRequestSchema> {
  const result = imageRequestSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new ExtensionError('REQUEST_INVALID', { where, problems: requestProblems(result.error.issues) });
}

/** The tile fields of a request that failed validation, those valid on their own: they still feed the cross-field checks. */
function validTileFields(value: unknown): { imageProcessorTileSize?: number; imageProcessorTileOverlap?: number } {
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const size = imageRequestSchema.shape.imageProcessorTileSize.safeParse(record['imageProcessorTileSize']);
  const overlap = imageRequestSchema.shape.imageProcessorTileOverlap.safeParse(record['imageProcessorTileOverlap']);
  return {
    ...(size.success && size.data !== undefined ? { imageProcessorTileSize: size.data } : {}),
    ...(overlap.success && overlap.data !== undefined ? { imageProcessorTileOverlap: overlap.data } : {}),
  };
}

function pick<T extends string>(
  field: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
  refused: Record<string, string>,
): T {
  if (value === undefined) return fallback;
  const upper = value.toUpperCase();
  if ((allowed as readonly string[]).includes(upper)) return upper as T;
  if (refused[upper] !== undefined)
    throw new ExtensionError('UNSUPPORTED', { field, received: `"${value}" (${refused[upper]})`, supported: allowed });
  throw new ExtensionError('REQUEST_INVALID', {
    where: field,
    problems: [`${field}: must be one of ${allowed.join(', ')}, received "${value}"`],
  });
}

/**
 * Build the request a run uses from an ImageRequest (optional) and the `run` options (which win).
 * Throws REQUEST_INVALID listing every bad field, or UNSUPPORTED for what this runner does not do
 * (NITF tiles, J2K, Kinesis outputs).
 */
export function buildRunRequest(input: {
  request?: unknown;
  requestSource?: string;
  image?: string | undefined;
  options?: RunOptions;
}): RunRequest {
  const options = input.options ?? {};
  // Collect, then report: the schema's problems and the cross-field ones below go into one error.
  const parsed =
    input.request === undefined ? undefined : imageRequestSchema.safeParse(input.request, { reportInput: true });
  const json = parsed?.success === true ? parsed.data : undefined;
  const problems: string[] = parsed === undefined || parsed.success ? [] : requestProblems(parsed.error.issues);
  const tileFields = parsed === undefined || parsed.success ? json : validTileFields(input.request);

  const imageUrl = input.image ?? json?.imageUrls[0];
  if (imageUrl === undefined && parsed?.success !== false)
    problems.push('image: required (give IMAGE, or imageUrls in --request)');
  const endpoint = options.endpoint ?? json?.imageProcessor.name;
  if (endpoint === undefined && parsed?.success !== false)
    problems.push('endpoint: required (give --endpoint, or imageProcessor.name in --request)');

  const tileSize = options.tileSize ?? tileFields?.imageProcessorTileSize ?? RUN_DEFAULTS.tileSize;
  const tileOverlap = options.tileOverlap ?? tileFields?.imageProcessorTileOverlap ?? RUN_DEFAULTS.tileOverlap;
  // A tile larger than the default region makes the region as large as the tile.
  const regionSize =
    options.regionSize ?? Math.max(RUN_DEFAULTS.regionSize, typeof tileSize === 'number' ? tileSize : 0);
  if (!Number.isInteger(tileSize) || tileSize < 1)
    problems.push(`tileSize: must be a whole number >= 1, received ${tileSize}`);
  if (!Number.isInteger(tileOverlap) || tileOverlap < 0 || tileOverlap >= tileSize) {
    problems.push(
      `tileOverlap: must be a whole number from 0 to tileSize - 1 (${tileSize - 1}), received ${tileOverlap}`,
    );
  }
  if (!Number.isInteger(regionSize) || regionSize < tileSize)
    problems.push(`regionSize: must be a whole number >= tileSize (${tileSize}), received ${regionSize}`);
  const iou = options.iou ?? json?.postProcessing?.[0]?.algorithm.iouThreshold ?? RUN_DEFAULTS.iouThreshold;
  if (!(iou >= 0 && iou <= 1)) problems.push(`iou: must be from 0 to 1, received ${iou}`);
  if (problems.length > 0 || imageUrl === undefined || endpoint === undefined) {
    throw new ExtensionError('REQUEST_INVALID', {
      where: input.requestSource ?? (input.request === undefined ? 'the run options' : 'the request'),
      problems,
    });
  }

  const tileFormat = pick(
    'imageProcessorTileFormat',
    options.tileFormat ?? json?.imageProcessorTileFormat,
    TILE_FORMATS,
    RUN_DEFAULTS.tileFormat,
    { NITF: 'NITF tiles need GDAL, which this runner does not use' },
  );
  const tileCompression = pick(
    'imageProcessorTileCompression',
    options.tileCompression ?? json?.imageProcessorTileCompression,
    TILE_COMPRESSIONS,
    RUN_DEFAULTS.tileCompression,
    { J2K: 'no JPEG 2000 encoder is bundled' },
  );
  const algorithm = pick(
    'postProcessing',
    options.postProcessing ?? json?.postProcessing?.[0]?.algorithm.algorithmType,
    POST_PROCESSING,
    'NMS',
    {},
  );

  const outputs: RunOutput[] = [];
  if (options.out !== undefined) outputs.push({ type: 'File', path: options.out });
  for (const output of json?.outputs ?? []) {
    if (output.type === 'Kinesis')
      throw new ExtensionError('UNSUPPORTED', {
        field: 'outputs[].type',
        received: '"Kinesis"',
        supported: ['S3', 'the --out file'],
      });
    outputs.push({ type: 'S3', bucket: output.bucket, prefix: output.prefix });
  }
  if (json?.outputBucket !== undefined)
    outputs.push({ type: 'S3', bucket: json.outputBucket, prefix: json.outputPrefix ?? '' });

  const endpointType =
    json !== undefined && options.endpoint === undefined
      ? json.imageProcessor.type === 'HTTP_ENDPOINT'
        ? 'http'
        : 'sagemaker'
      : endpointTypeOf(endpoint);
  const algorithmJson = json?.postProcessing?.[0]?.algorithm;
  const roi = options.roi ?? json?.regionOfInterest;
  return {
    jobId: options.jobId ?? json?.jobId ?? randomUUID(),
    imageUrl,
    endpoint,
    endpointType,
    parameters: json?.imageProcessorParameters ?? {},
    tileSize,
    tileOverlap,
    regionSize,
    tileFormat,
    tileCompression,
    ...(roi === undefined ? {} : { regionOfInterest: roi }),
    featureProperties: [
      ...(json?.featureProperties ?? []),
      ...(options.featureProperties === undefined ? [] : [options.featureProperties]),
    ],
    postProcessing: {
      algorithm,
      iouThreshold: iou,
      sigma: algorithmJson?.sigma ?? RUN_DEFAULTS.sigma,
      skipBoxThreshold: algorithmJson?.skipBoxThreshold ?? RUN_DEFAULTS.skipBoxThreshold,
    },
    outputs,
  };
}
