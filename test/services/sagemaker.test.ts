/**
 * The host's SageMaker and S3 services on the real AWS SDK clients, pointed at the local SageMaker
 * runtime and S3 (examples/sagemaker-local) through the SDK's standard endpoint variables.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startSageMakerLocal,
  type SageMakerLocal,
  type SageMakerLocalOptions,
} from '../../examples/sagemaker-local/server.mjs';
import { createAwsServices, type AwsServicesOptions } from '../../src/services/aws.js';
import type { TileRequest } from '../../src/services/types.js';
import { isExtensionError } from '../../src/shared/errors.js';
import type { FeatureCollection } from '../../src/shared/geojson.js';
import { recordingLogger, tempDir } from '../helpers/index.js';

const cleanup: (() => Promise<void> | void)[] = [];
const savedEnv = { ...process.env };
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

/** A local runtime + S3, and the SDK pointed at it through its standard variables. */
async function local(options: SageMakerLocalOptions = {}): Promise<SageMakerLocal> {
  const server = await startSageMakerLocal({ asyncDelayMs: 10, ...options });
  cleanup.push(() => server.close());
  Object.assign(process.env, server.env);
  return server;
}

/** The services under test, closed after the test. */
function services(options: AwsServicesOptions = {}) {
  const aws = createAwsServices({ polling: { firstPollMs: 5, maxPollMs: 20, timeoutMs: 20_000 }, ...options });
  cleanup.push(() => aws.close());
  return aws;
}

/** A 64x64 PNG with one bright 10x10 square at (10, 10). */
const png = await (async () => {
  const raw = Buffer.alloc(64 * 64 * 3, 10);
  for (let y = 10; y < 20; y++) raw.fill(255, (y * 64 + 10) * 3, (y * 64 + 20) * 3);
  return sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
})();

const tile = (patch: Partial<TileRequest> = {}): TileRequest => ({
  imageId: 'job-1:scene.tif',
  endpoint: 'detector',
  bounds: { x: 64, y: 0, width: 64, height: 64 },
  name: 'tile 2/4 (x=64 y=0 64x64)',
  body: png,
  contentType: 'image/png',
  ...patch,
});

const BOX = [10, 10, 20, 20];
const boxes = (fc: FeatureCollection) => fc.features.map((f) => f.properties?.['imageBBox']);

/** The error a promise rejects with: its code and message. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isExtensionError(error)) throw new Error(`expected an ExtensionError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

describe('sagemakerRuntime.invokeEndpoint (real time)', () => {
  it("sends the tile's bytes with its Content-Type, Accept geo+json and SageMaker's parameters", async () => {
    const server = await local();
    const logger = recordingLogger();
    const { sagemakerRuntime } = services({ logger });
    const parameters = {
      CustomAttributes: 'model_selection=blobs',
      TargetVariant: 'blue',
      TargetModel: 'm.tar.gz',
      InferenceComponentName: 'ic-1',
      Colour: 'red',
    };
    const answer = await sagemakerRuntime.invokeEndpoint(tile({ parameters }));

    expect(boxes(answer)).toEqual([BOX]);
    expect(server.invocations).toEqual([
      expect.objectContaining({
        kind: 'sync',
        endpoint: 'detector',
        contentType: 'image/png',
        accept: 'application/geo+json',
        customAttributes: 'model_selection=blobs',
        targetVariant: 'blue',
        targetModel: 'm.tar.gz',
        inferenceComponent: 'ic-1',
        bytes: png.length,
      }),
    ]);
    const ignored = logger.lines.filter((l) => l.obj['event'] === 'sagemaker.parameters.ignored');
    expect(ignored.map((l) => l.obj['keys'])).toEqual([['Colour']]);
    expect(sagemakerRuntime.maxBodyBytes).toBe(6 * 1024 * 1024);
  });

  it('retries a throttled call (429 ThrottlingException) with backoff, then answers', async () => {
    const server = await local({ fault: 'throttle', faultCalls: 1 });
    const answer = await services().sagemakerRuntime.invokeEndpoint(tile());
    expect(boxes(answer)).toEqual([BOX]);
    expect(server.invocations.map((i) => i.fault)).toEqual(['throttle', undefined]);
  });

  it('fails with MODEL_FAILED naming the endpoint, the tile and the container status on a model error', async () => {
    const server = await local({ fault: 'model-error' });
    const { code, message } = await failure(services().sagemakerRuntime.invokeEndpoint(tile()));
    expect(code).toBe('MODEL_FAILED');
    expect(message).toContain('SageMaker endpoint detector');
    expect(message).toContain('tile 2/4 (x=64 y=0 64x64)');
    expect(message).toMatch(/container answered 500.*injected fault: model-error.*ModelError/);
    expect(server.invocations).toHaveLength(1); // a model error is not retried
  });

  it('fails with MODEL_FAILED saying the endpoint was not found (ValidationError)', async () => {
    await local({ endpoints: ['other'] });
    const { code, message } = await failure(services().sagemakerRuntime.invokeEndpoint(tile()));
    expect(code).toBe('MODEL_FAILED');
    expect(message).toMatch(/Endpoint detector of account \d+ not found.*ValidationError, 400/);
  });

  it('fails with MODEL_FAILED, never hangs, when the runtime is gone', async () => {
    const server = await local();
    server.kill();
    const { code, message } = await failure(services().sagemakerRuntime.invokeEndpoint(tile()));
    expect(code).toBe('MODEL_FAILED');
    expect(message).toMatch(/could not be reached.*ECONNREFUSED/);
  });

  it("fails with MODEL_FAILED naming the container's 400 when it cannot read the body", async () => {
    await local();
    const notAnImage = tile({ body: new TextEncoder().encode('not an image'), contentType: 'text/plain' });
    const { code, message } = await failure(services().sagemakerRuntime.invokeEndpoint(notAnImage));
    // The example model answers 400 to a body that is not an image: a model error, not retried.
    expect(code).toBe('MODEL_FAILED');
    expect(message).toContain('400');
  });
});

describe('sagemakerRuntime.invokeEndpointAsync', () => {
  it('puts the tile under the input location, invokes with it, and reads the output', async () => {
    const server = await local();
    const { sagemakerRuntime } = services({ asyncInputLocation: 's3://tiles/in/' });
    const answer = await sagemakerRuntime.invokeEndpointAsync(tile({ parameters: { CustomAttributes: 'a=1' } }));

    expect(boxes(answer)).toEqual([BOX]);
    const [input] = server.keys('tiles');
    expect(input).toMatch(/^s3:\/\/tiles\/in\/[0-9a-f]{16}\/64-0-64x64\.png$/);
    expect(server.invocations).toEqual([
      expect.objectContaining({
        kind: 'async',
        inputLocation: input,
        contentType: 'image/png',
        accept: 'application/geo+json',
        customAttributes: 'a=1',
        bytes: png.length,
      }),
    ]);
  });

  it('turns a failure object into MODEL_FAILED carrying its text', async () => {
    await local({ fault: 'model-error' });
    const { sagemakerRuntime } = services({ asyncInputLocation: 's3://tiles/in/' });
    const { code, message } = await failure(sagemakerRuntime.invokeEndpointAsync(tile()));
    expect(code).toBe('MODEL_FAILED');
    expect(message).toContain('async SageMaker endpoint detector');
    expect(message).toMatch(/the async inference failed \(s3:\/\/sagemaker-local\/async-failures\/.*-error\.out\)/);
    expect(message).toContain('injected fault: model-error');
  });

  it('times out, naming the tile and both locations, when no result ever appears', async () => {
    await local({ fault: 'async-never' });
    const { sagemakerRuntime } = services({
      asyncInputLocation: 's3://tiles/in/',
      polling: { firstPollMs: 5, maxPollMs: 20, timeoutMs: 150 },
    });
    const { code, message } = await failure(sagemakerRuntime.invokeEndpointAsync(tile()));
    expect(code).toBe('MODEL_FAILED');
    expect(message).toContain('tile 2/4');
    expect(message).toMatch(/no result at s3:\/\/sagemaker-local\/async-output\/\S+ nor at s3:\/\/\S+ within 150 ms/);
  });

  it('stops with one ASYNC_INPUT_FAILED when the upload is refused: later tiles fail at once, unsent', async () => {
    const server = await local({ fault: 's3-put-denied' });
    const { sagemakerRuntime } = services({ asyncInputLocation: 's3://tiles/in/' });
    const first = await failure(sagemakerRuntime.invokeEndpointAsync(tile()));
    expect(first.code).toBe('ASYNC_INPUT_FAILED');
    expect(first.message).toMatch(/s3:\/\/tiles\/in\/.*access was denied \(AccessDenied, 403\)/);
    const requests = server.s3Stats.requests;
    const second = await failure(
      sagemakerRuntime.invokeEndpointAsync(tile({ bounds: { x: 0, y: 0, width: 64, height: 64 } })),
    );
    expect(second).toEqual(first);
    expect(server.s3Stats.requests).toBe(requests);
    expect(server.invocations).toHaveLength(0);
  });

  it('fails with ASYNC_INPUT_FAILED when no input location is set, or its bucket does not exist', async () => {
    await local({ buckets: ['tiles'] });
    const unset = await failure(services().sagemakerRuntime.invokeEndpointAsync(tile()));
    expect(unset.code).toBe('ASYNC_INPUT_FAILED');
    expect(unset.message).toContain('no input location is configured');
    const missing = await failure(
      services({ asyncInputLocation: 's3://no-such-bucket/in/' }).sagemakerRuntime.invokeEndpointAsync(tile()),
    );
    expect(missing.code).toBe('ASYNC_INPUT_FAILED');
    expect(missing.message).toContain('the bucket does not exist (NoSuchBucket, 404)');
  });

  it('bounds its S3 requests by the submit and poll limits, however many tiles are outstanding', async () => {
    const server = await local({ asyncDelayMs: 60, s3DelayMs: 5 });
    const { sagemakerRuntime } = services({
      asyncInputLocation: 's3://tiles/in/',
      submitConcurrency: 2,
      pollConcurrency: 3,
    });
    const tiles = Array.from({ length: 24 }, (_, i) => tile({ bounds: { x: i * 64, y: 0, width: 64, height: 64 } }));
    const answers = await Promise.all(tiles.map((t) => sagemakerRuntime.invokeEndpointAsync(t)));

    expect(answers.every((a) => boxes(a).length === 1)).toBe(true);
    expect(server.invocations).toHaveLength(24);
    expect(server.s3Stats.maxInFlight).toBeGreaterThan(1);
    expect(server.s3Stats.maxInFlight).toBeLessThanOrEqual(2 + 3);
  });

  it('refuses an input location that is not an s3:// URL with CONFIG_INVALID', () => {
    expect(() => createAwsServices({ asyncInputLocation: 'https://bucket/in/' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

describe('s3:// images and S3 outputs', () => {
  it('downloads an s3:// image to a file, and says what is missing', async () => {
    const server = await local();
    server.putObject('imagery', 'scenes/a b.png', png, 'image/png');
    const { fetchers } = services();
    const file = path.join(await tempDir(), 'a.png');
    await fetchers['s3:'](new URL('s3://imagery/scenes/a%20b.png'), file);
    expect(await readFile(file)).toEqual(png);
    await expect(fetchers['s3:'](new URL('s3://imagery/nope.tif'), file)).rejects.toThrow(/no such object/);
  });

  it("writes the FeatureCollection to s3://bucket/<prefix>/<jobId>.geojson, OSML's name", async () => {
    const server = await local();
    const { sinks } = services();
    const feature = { type: 'Feature' as const, geometry: null, properties: { n: 1 } };
    const url = await sinks.S3([feature], { type: 'S3', bucket: 'results', prefix: 'runs' }, { jobId: 'job-7' });
    expect(url).toBe('s3://results/runs/job-7.geojson');
    const stored = server.getObject('results', 'runs/job-7.geojson');
    expect(stored?.contentType).toBe('application/geo+json');
    expect(JSON.parse(stored!.body.toString('utf8'))).toEqual({ type: 'FeatureCollection', features: [feature] });
  });

  it('fails with OUTPUT_FAILED naming the URL when the bucket does not exist', async () => {
    await local({ buckets: ['results'] });
    const { code, message } = await failure(
      services().sinks.S3([], { type: 'S3', bucket: 'gone', prefix: '' }, { jobId: 'j' }),
    );
    expect(code).toBe('OUTPUT_FAILED');
    expect(message).toContain('s3://gone/j.geojson');
    expect(message).toContain('NoSuchBucket');
  });
});
