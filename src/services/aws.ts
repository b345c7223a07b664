/**
 * The AWS services a run may use, built on first use: the `sagemakerRuntime` service, the `s3:`
 * image fetcher and the `S3` output sink. Nothing here imports the AWS SDK: a run that never
 * touches SageMaker or S3 never loads it. Region, credentials and endpoints come from the SDK's own
 * chain (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`, `AWS_ENDPOINT_URL_S3`, …).
 */
import type { Feature } from '../shared/geojson.js';
import { ExtensionError } from '../shared/errors.js';
import type { Logger } from '../shared/types.js';
import type { S3Store } from './s3.js';
import { parseS3Url } from './s3-url.js';
import type { AsyncPolling, SageMakerService } from './sagemaker.js';
import { SAGEMAKER_MAX_BODY_BYTES, type SageMakerRuntime } from './types.js';

/**
 * The pinned SDK supports Node 20; its notice that later SDK versions will not would be written to
 * stderr on every run. The library writes nothing to the console, so it is turned off unless set.
 */
function quietSdk(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}

/** Options for {@link createAwsServices}. */
export interface AwsServicesOptions {
  /** Where the service logs (warnings for parameters SageMaker does not take; debug lines). */
  logger?: Pick<Logger, 'debug' | 'warn'> | undefined;
  /** Where async tiles are put, `s3://bucket/prefix/` (config `asyncInputLocation`, flag `--async-input`). */
  asyncInputLocation?: string | undefined;
  /** How async results are waited for. @default { firstPollMs: 1000, maxPollMs: 30000, timeoutMs: 3600000 } */
  polling?: Partial<AsyncPolling> | undefined;
  /** Async uploads + submissions in flight at once. @default 8 */
  submitConcurrency?: number | undefined;
  /** Async poll requests in flight at once. @default 8 */
  pollConcurrency?: number | undefined;
  /** The real-time body limit. @default 6 MB */
  maxBodyBytes?: number | undefined;
  /** Per-attempt timeout of a SageMaker call. @default 70000 (real-time inference may take 60 s) */
  requestTimeoutMs?: number | undefined;
  /** Path-style S3 URLs. @default true when an S3 endpoint override (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`) is set */
  forcePathStyle?: boolean | undefined;
}

/** An output sink: writes the features and resolves to where they went. */
export type OutputSink = (
  features: readonly Feature[],
  output: { type: string; bucket?: string; prefix?: string },
  run: { jobId: string },
) => Promise<string>;

/** The services, each building the SDK clients it needs when first called. */
export interface AwsServices {
  /** The `sagemakerRuntime` service for the handlers. */
  readonly sagemakerRuntime: SageMakerRuntime;
  /** `fetchers` for `runImage`: `s3://bucket/key` images. */
  readonly fetchers: { 's3:': (url: URL, file: string) => Promise<void> };
  /** `sinks` for `runImage`: `{type: 'S3', bucket, prefix}` outputs, at `s3://bucket/<prefix>/<jobId>.geojson`. */
  readonly sinks: { S3: OutputSink };
  /** Release the clients' sockets (if any were made). */
  close(): void;
}

/**
 * The AWS services of a host, lazily: the SDK is imported, and its clients made, on the first call.
 *
 * @throws ExtensionError CONFIG_INVALID when `asyncInputLocation` is not an `s3://bucket/prefix/` URL.
 * @example
 * const aws = createAwsServices({ asyncInputLocation: 's3://my-bucket/tiles/' });
 * await ext.start({ requestType: 'async_sm_endpoint', deps: { sagemakerRuntime: aws.sagemakerRuntime } });
 */
export function createAwsServices(options: AwsServicesOptions = {}): AwsServices {
  if (options.asyncInputLocation !== undefined && parseS3Url(options.asyncInputLocation) === undefined) {
    throw new ExtensionError('CONFIG_INVALID', {
      where: '`asyncInputLocation`',
      problems: [`must be an s3://bucket/prefix/ URL, received ${JSON.stringify(options.asyncInputLocation)}`],
    });
  }
  const destroy: (() => void)[] = [];
  let store: Promise<S3Store> | undefined;
  let service: Promise<SageMakerService> | undefined;
  const s3 = (): Promise<S3Store> =>
    (store ??= (async () => {
      quietSdk();
      const [{ S3Client }, { S3Store }] = await Promise.all([import('@aws-sdk/client-s3'), import('./s3.js')]);
      const override = process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
      const client = new S3Client({
        forcePathStyle: options.forcePathStyle ?? override !== undefined,
        requestHandler: { connectionTimeout: 5000, requestTimeout: 300_000 },
      });
      destroy.push(() => client.destroy());
      return new S3Store(client);
    })());
  const sagemaker = (): Promise<SageMakerService> =>
    (service ??= (async () => {
      quietSdk();
      const [{ SageMakerRuntimeClient }, { SageMakerService }] = await Promise.all([
        import('@aws-sdk/client-sagemaker-runtime'),
        import('./sagemaker.js'),
      ]);
      const client = new SageMakerRuntimeClient({
        requestHandler: { connectionTimeout: 5000, requestTimeout: options.requestTimeoutMs ?? 70_000 },
      });
      destroy.push(() => client.destroy());
      return new SageMakerService(client, s3, options);
    })());

  return {
    sagemakerRuntime: {
      maxBodyBytes: options.maxBodyBytes ?? SAGEMAKER_MAX_BODY_BYTES,
      invokeEndpoint: async (tile) => (await sagemaker()).invokeEndpoint(tile),
      invokeEndpointAsync: async (tile) => (await sagemaker()).invokeEndpointAsync(tile),
    },
    fetchers: {
      's3:': async (url, file) => {
        const { s3Fetcher } = await import('./s3.js');
        return s3Fetcher(await s3())(url, file);
      },
    },
    sinks: {
      S3: async (features, output, run) => {
        const { s3Sink } = await import('./s3.js');
        return s3Sink(await s3())(features, { bucket: output.bucket ?? '', prefix: output.prefix ?? '' }, run);
      },
    },
    close() {
      for (const fn of destroy.splice(0)) fn();
    },
  };
}
