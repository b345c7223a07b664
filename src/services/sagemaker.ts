/**
 * The host's `sagemakerRuntime` service on the AWS SDK v3: real-time inference with the tile's
 * bytes as the body, and asynchronous inference through S3 (put the tile under the input location,
 * InvokeEndpointAsync, poll the output and failure locations). Loaded only when a handler uses it
 * (see `aws.ts`); clients, region and credentials come from the SDK's own configuration chain.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  InvokeEndpointAsyncCommand,
  InvokeEndpointCommand,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { createLimiter, type Limiter } from '../shared/concurrency.js';
import { ExtensionError } from '../shared/errors.js';
import type { FeatureCollection } from '../shared/geojson.js';
import { silentLogger, type Logger } from '../shared/types.js';
import { awsReason } from './aws-errors.js';
import { excerpt, parseAnswer, tileBody, tileLabel } from './http-model.js';
import type { S3Store } from './s3.js';
import { formatS3Url, parseS3Url, type S3Location } from './s3-url.js';
import { ASYNC_NUMBERS, ASYNC_PARAMETERS, pickParameters, SYNC_PARAMETERS } from './sagemaker-parameters.js';
import { SAGEMAKER_MAX_BODY_BYTES, type SageMakerRuntime, type TileRequest } from './types.js';

const ACCEPT = 'application/geo+json';

/** How an async tile's result is waited for. */
export interface AsyncPolling {
  /** Wait before the first poll; doubled after each empty poll, up to `maxPollMs`. @default 1000 */
  firstPollMs: number;
  /** @default 30000 */
  maxPollMs: number;
  /** A tile with neither output nor failure by then fails with MODEL_FAILED. @default 3600000 (OSML's wait) */
  timeoutMs: number;
}

/** Options for {@link SageMakerService}. */
export interface SageMakerServiceOptions {
  /** Where async tiles are put: `s3://bucket/prefix/` (config `asyncInputLocation`, flag `--async-input`). */
  asyncInputLocation?: string | undefined;
  polling?: Partial<AsyncPolling> | undefined;
  /** Uploads + InvokeEndpointAsync calls in flight at once, whatever the tiles outstanding. @default 8 */
  submitConcurrency?: number | undefined;
  /** Poll requests (HeadObject/GetObject) in flight at once. @default 8 */
  pollConcurrency?: number | undefined;
  /** The real-time body limit. @default 6 MB */
  maxBodyBytes?: number | undefined;
  /** Where the service logs (warnings for parameters SageMaker does not take; debug lines). */
  logger?: Pick<Logger, 'debug' | 'warn'> | undefined;
}

/** A tile's outcome in S3, if there is one yet. */
type Outcome = { kind: 'output' | 'failure'; text: string } | undefined;

const EXTENSIONS: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/tiff': '.tif',
  'application/json': '.json',
};

/** HeadObject on the output, then the failure location; the text of the one that is there. */
async function outcomeOf(s3: S3Store, output: S3Location, failure: S3Location | undefined): Promise<Outcome> {
  if (await s3.exists(output)) return { kind: 'output', text: await s3.text(output) };
  if (failure !== undefined && (await s3.exists(failure))) return { kind: 'failure', text: await s3.text(failure) };
  return undefined;
}

/**
 * SageMaker inference for the handlers: `invokeEndpoint` (real time) and `invokeEndpointAsync`.
 * Throttling, 5xx and connection errors are retried by the SDK with backoff (`AWS_MAX_ATTEMPTS`,
 * `AWS_RETRY_MODE`); what still fails becomes an `ExtensionError` naming the endpoint and the tile.
 */
export class SageMakerService implements SageMakerRuntime {
  readonly maxBodyBytes: number;
  readonly #sagemaker: SageMakerRuntimeClient;
  /** S3, for async inference only: a real-time run never loads the S3 client. */
  readonly #s3: () => Promise<S3Store>;
  readonly #input: S3Location | undefined;
  readonly #inputText: string | undefined;
  readonly #polling: AsyncPolling;
  readonly #submits: Limiter;
  readonly #polls: Limiter;
  readonly #logger: Pick<Logger, 'debug' | 'warn'>;
  readonly #warned = new Set<string>();
  /** Set once the input location has failed: every later async tile fails at once with it. */
  #stopped: ExtensionError | undefined;

  /**
   * @param s3 - S3 for async inference, made on first use.
   * @throws ExtensionError CONFIG_INVALID when `asyncInputLocation` is not an `s3://bucket/prefix/` URL.
   */
  constructor(sagemaker: SageMakerRuntimeClient, s3: () => Promise<S3Store>, options: SageMakerServiceOptions = {}) {
    this.#sagemaker = sagemaker;
    this.#s3 = s3;
    this.maxBodyBytes = options.maxBodyBytes ?? SAGEMAKER_MAX_BODY_BYTES;
    this.#inputText = options.asyncInputLocation;
    if (options.asyncInputLocation !== undefined) {
      const input = parseS3Url(options.asyncInputLocation);
      if (input === undefined)
        throw new ExtensionError('CONFIG_INVALID', {
          where: '`asyncInputLocation`',
          problems: [`must be an s3://bucket/prefix/ URL, received ${JSON.stringify(options.asyncInputLocation)}`],
        });
      // A location names a folder: `s3://b/in` puts tiles under `in/`.
      this.#input = {
        bucket: input.bucket,
        key: input.key === '' || input.key.endsWith('/') ? input.key : `${input.key}/`,
      };
    }
    this.#polling = { firstPollMs: 1000, maxPollMs: 30_000, timeoutMs: 3_600_000, ...options.polling };
    this.#submits = createLimiter(options.submitConcurrency ?? 8);
    this.#polls = createLimiter(options.pollConcurrency ?? 8);
    this.#logger = options.logger ?? silentLogger;
  }

  /** Real-time inference: InvokeEndpoint with the tile's bytes, its Content-Type and `Accept: application/geo+json`. */
  async invokeEndpoint(tile: TileRequest): Promise<FeatureCollection> {
    const name = tileLabel(tile);
    const endpoint = `SageMaker endpoint ${tile.endpoint}`;
    const { body, contentType } = tileBody(tile);
    const { picked, ignored } = pickParameters(tile.parameters, SYNC_PARAMETERS);
    this.#warnIgnored(ignored, 'InvokeEndpoint');
    let answer: Uint8Array | undefined;
    try {
      const response = await this.#sagemaker.send(
        new InvokeEndpointCommand({
          EndpointName: tile.endpoint,
          Body: body,
          ContentType: contentType,
          Accept: ACCEPT,
          ...picked,
        }),
      );
      answer = response.Body;
    } catch (error) {
      throw new ExtensionError('MODEL_FAILED', { tile: name, endpoint, reason: awsReason(error) }, { cause: error });
    }
    return parseAnswer(new TextDecoder().decode(answer ?? new Uint8Array()), name, endpoint);
  }

  /**
   * Asynchronous inference: put the tile under the input location, InvokeEndpointAsync with it,
   * then poll the output and the failure location with capped backoff until one appears.
   *
   * @throws ExtensionError ASYNC_INPUT_FAILED (no input location, or the upload failed: the run
   *   stops); MODEL_FAILED for a failure object, a call that failed, or no result in time.
   */
  async invokeEndpointAsync(tile: TileRequest): Promise<FeatureCollection> {
    const name = tileLabel(tile);
    const endpoint = `async SageMaker endpoint ${tile.endpoint}`;
    if (this.#stopped !== undefined) throw this.#stopped;
    const input = this.#inputFor(tile);
    const { body, contentType } = tileBody(tile);
    const { picked, ignored } = pickParameters(tile.parameters, ASYNC_PARAMETERS, ASYNC_NUMBERS);
    this.#warnIgnored(ignored, 'InvokeEndpointAsync');

    const s3 = await this.#s3();
    const submitted = await this.#submits.run(async () => {
      if (this.#stopped !== undefined) throw this.#stopped;
      try {
        await s3.put(input, body, contentType);
      } catch (error) {
        this.#stopped ??= new ExtensionError(
          'ASYNC_INPUT_FAILED',
          { location: formatS3Url(input), endpoint: tile.endpoint, reason: awsReason(error) },
          { cause: error },
        );
        throw this.#stopped;
      }
      try {
        return await this.#sagemaker.send(
          new InvokeEndpointAsyncCommand({
            EndpointName: tile.endpoint,
            InputLocation: formatS3Url(input),
            ContentType: contentType,
            Accept: ACCEPT,
            ...picked,
          }),
        );
      } catch (error) {
        throw new ExtensionError('MODEL_FAILED', { tile: name, endpoint, reason: awsReason(error) }, { cause: error });
      }
    });
    const output = parseS3Url(submitted.OutputLocation ?? '');
    const failure = parseS3Url(submitted.FailureLocation ?? '');
    if (output === undefined) {
      const reason = `InvokeEndpointAsync gave no S3 OutputLocation (received ${JSON.stringify(submitted.OutputLocation)})`;
      throw new ExtensionError('MODEL_FAILED', { tile: name, endpoint, reason });
    }
    this.#logger.debug(
      {
        event: 'sagemaker.async.submitted',
        tile: name,
        inferenceId: submitted.InferenceId,
        output: formatS3Url(output),
      },
      'async inference submitted',
    );

    const deadline = Date.now() + this.#polling.timeoutMs;
    for (let wait = this.#polling.firstPollMs; ; wait = Math.min(this.#polling.maxPollMs, wait * 2)) {
      // Jitter spreads the polls of tiles submitted together.
      await sleep(Math.max(0, Math.min(wait * (0.75 + Math.random() / 2), deadline - Date.now())));
      let outcome: Outcome;
      try {
        outcome = await this.#polls.run(() => outcomeOf(s3, output, failure));
      } catch (error) {
        const reason = `cannot read its result at ${formatS3Url(output)}: ${awsReason(error)}`;
        throw new ExtensionError('MODEL_FAILED', { tile: name, endpoint, reason }, { cause: error });
      }
      if (outcome?.kind === 'output') return parseAnswer(outcome.text, name, endpoint);
      if (outcome?.kind === 'failure') {
        const reason = `the async inference failed (${formatS3Url(failure!)}): ${excerpt(outcome.text.trim())}`;
        throw new ExtensionError('MODEL_FAILED', { tile: name, endpoint, reason });
      }
      if (Date.now() >= deadline) {
        const where = `${formatS3Url(output)}${failure === undefined ? '' : ` nor at ${formatS3Url(failure)}`}`;
        const reason = `no result at ${where} within ${this.#polling.timeoutMs} ms (inference ${submitted.InferenceId ?? 'without an id'})`;
        throw new ExtensionError('MODEL_FAILED', { tile: name, endpoint, reason });
      }
    }
  }

  /** Where this tile's bytes go: `<prefix><image digest>/<x>-<y>-<w>x<h>.<ext>`. */
  #inputFor(tile: TileRequest): S3Location {
    if (this.#input === undefined) {
      this.#stopped ??= new ExtensionError('ASYNC_INPUT_FAILED', {
        location: this.#inputText ?? '(no input location)',
        endpoint: tile.endpoint,
        reason: 'async inference reads its input from S3, and no input location is configured',
      });
      throw this.#stopped;
    }
    const image = createHash('sha256').update(tile.imageId).digest('hex').slice(0, 16);
    const { x, y, width, height } = tile.bounds;
    const extension = EXTENSIONS[tile.contentType ?? (tile.body === undefined ? 'application/json' : '')] ?? '.bin';
    return { bucket: this.#input.bucket, key: `${this.#input.key}${image}/${x}-${y}-${width}x${height}${extension}` };
  }

  /** Warn once per key that SageMaker does not take it. */
  #warnIgnored(keys: readonly string[], call: string): void {
    const fresh = keys.filter((key) => !this.#warned.has(`${call}:${key}`));
    if (fresh.length === 0) return;
    for (const key of fresh) this.#warned.add(`${call}:${key}`);
    this.#logger.warn(
      { event: 'sagemaker.parameters.ignored', call, keys: fresh },
      `imageProcessorParameters ${fresh.join(', ')} are not parameters of ${call}; not sent`,
    );
  }
}
