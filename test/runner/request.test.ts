import { describe, expect, it } from 'vitest';
import { isExtensionError, type ErrorCode, type ExtensionError } from '../../src/shared/errors.js';
import { buildRunRequest, parseImageRequest, RUN_DEFAULTS, type RunOptions } from '../../src/runner/request.js';

/** A minimal valid OSML ImageRequest, with `patch` applied. */
const request = (patch: Record<string, unknown> = {}): Record<string, unknown> => ({
  imageUrls: ['s3://bucket/scene.tif'],
  imageProcessor: { name: 'my-endpoint' },
  ...patch,
});

/** The ExtensionError `run` throws; fails the test if it throws nothing or something else. */
function errorOf(run: () => unknown, code: ErrorCode): ExtensionError {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(isExtensionError(thrown), `expected an ExtensionError, got ${String(thrown)}`).toBe(true);
  expect((thrown as ExtensionError).code).toBe(code);
  return thrown as ExtensionError;
}

/** The problem lines of a REQUEST_INVALID. */
function problemsOf(run: () => unknown): string[] {
  const error = errorOf(run, 'REQUEST_INVALID') as ExtensionError<'REQUEST_INVALID'>;
  return [...error.params.problems];
}

const build = (req: unknown, options: RunOptions = {}) =>
  buildRunRequest({ request: req, requestSource: 'job.json', options });

describe('parseImageRequest: OSML ImageRequest documents', () => {
  it('accepts a full request with every field', () => {
    const full = {
      jobId: 'job-1',
      jobName: 'test-job',
      imageUrls: ['s3://bucket/scene.tif'],
      imageReadRole: 'arn:aws:iam::1:role/read',
      outputs: [
        { type: 'S3', bucket: 'out-bucket', prefix: 'results/', role: 'arn:aws:iam::1:role/write' },
        { type: 'Kinesis', stream: 'features', batchSize: 100, assumedRole: 'arn:aws:iam::1:role/k' },
      ],
      outputBucket: 'legacy-bucket',
      outputPrefix: 'legacy/',
      imageProcessor: { name: 'my-endpoint', type: 'SM_ENDPOINT', assumedRole: 'arn:aws:iam::1:role/model' },
      imageProcessorParameters: { CustomAttributes: 'a=1', TargetVariant: 'v2' },
      imageProcessorTileSize: 512,
      imageProcessorTileOverlap: 32,
      imageProcessorTileFormat: 'GTIFF',
      imageProcessorTileCompression: 'LZW',
      regionOfInterest: 'POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))',
      featureProperties: [{ source: 'unit-test' }],
      postProcessing: [
        {
          step: 'FEATURE_DISTILLATION',
          algorithm: { algorithmType: 'SOFT_NMS', iouThreshold: 0.5, skipBoxThreshold: 0.01, sigma: 0.2 },
        },
      ],
    };
    const parsed = parseImageRequest(full, 'job.json');
    expect(parsed).toMatchObject({ ...full, imageProcessorTileSize: 512, imageProcessorTileOverlap: 32 });
  });

  it('accepts a tile size written as a string, as OSML does with int(value)', () => {
    expect(
      parseImageRequest(request({ imageProcessorTileSize: '512', imageProcessorTileOverlap: '16' }), 'job.json'),
    ).toMatchObject({
      imageProcessorTileSize: 512,
      imageProcessorTileOverlap: 16,
    });
  });

  it('refuses a tile size string that is not a whole number, naming the field', () => {
    const error = errorOf(
      () => parseImageRequest(request({ imageProcessorTileSize: '5x12' }), 'job.json'),
      'REQUEST_INVALID',
    );
    expect(error.message).toContain('imageProcessorTileSize');
    expect(error.message).toContain('job.json');
  });

  it('defaults imageProcessor.type to SM_ENDPOINT', () => {
    expect(parseImageRequest(request(), 'job.json').imageProcessor.type).toBe('SM_ENDPOINT');
  });
});

describe('buildRunRequest: from an ImageRequest', () => {
  it('maps a full request onto the run request', () => {
    const run = build({
      jobId: 'job-1',
      imageUrls: ['s3://bucket/a.tif', 's3://bucket/b.tif'],
      imageProcessor: { name: 'my-endpoint', type: 'SM_ENDPOINT' },
      imageProcessorParameters: { CustomAttributes: 'a=1' },
      imageProcessorTileSize: '512',
      imageProcessorTileOverlap: 32,
      imageProcessorTileFormat: 'jpeg',
      imageProcessorTileCompression: 'none',
      regionOfInterest: 'POINT (1 2)',
      outputs: [{ type: 'S3', bucket: 'out-bucket', prefix: 'results/' }],
    });
    expect(run).toMatchObject({
      jobId: 'job-1',
      imageUrl: 's3://bucket/a.tif',
      endpoint: 'my-endpoint',
      endpointType: 'sagemaker',
      parameters: { CustomAttributes: 'a=1' },
      tileSize: 512,
      tileOverlap: 32,
      tileFormat: 'JPEG',
      tileCompression: 'NONE',
      regionOfInterest: 'POINT (1 2)',
      outputs: [{ type: 'S3', bucket: 'out-bucket', prefix: 'results/' }],
    });
  });

  it('takes the endpoint type from imageProcessor.type: SM_ENDPOINT (the default) is sagemaker, HTTP_ENDPOINT is http', () => {
    expect(build(request()).endpointType).toBe('sagemaker');
    expect(build(request({ imageProcessor: { name: 'my-endpoint', type: 'SM_ENDPOINT' } })).endpointType).toBe(
      'sagemaker',
    );
    // The type field wins over the look of the name.
    expect(
      build(request({ imageProcessor: { name: 'http://model:8080/invocations', type: 'SM_ENDPOINT' } })).endpointType,
    ).toBe('sagemaker');
    expect(build(request({ imageProcessor: { name: 'model-svc', type: 'HTTP_ENDPOINT' } })).endpointType).toBe('http');
  });

  it('fills in the documented defaults', () => {
    const run = build(request());
    expect(run).toMatchObject({
      tileSize: 1024,
      tileOverlap: 50,
      regionSize: 10240,
      tileFormat: 'PNG',
      tileCompression: 'NONE',
      parameters: {},
      featureProperties: [],
      outputs: [],
      postProcessing: {
        algorithm: 'NMS',
        iouThreshold: 0.75,
        sigma: RUN_DEFAULTS.sigma,
        skipBoxThreshold: RUN_DEFAULTS.skipBoxThreshold,
      },
    });
    expect(run).not.toHaveProperty('regionOfInterest');
  });

  it('makes up a fresh job id when the request has none', () => {
    const a = build(request()).jobId;
    const b = build(request()).jobId;
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
  });

  it('reads SOFT_NMS post-processing with its sigma and skipBoxThreshold', () => {
    const run = build(
      request({
        postProcessing: [
          {
            step: 'FEATURE_DISTILLATION',
            algorithm: { algorithmType: 'SOFT_NMS', iouThreshold: 0.4, sigma: 0.3, skipBoxThreshold: 0.05 },
          },
        ],
      }),
    );
    expect(run.postProcessing).toEqual({
      algorithm: 'SOFT_NMS',
      iouThreshold: 0.4,
      sigma: 0.3,
      skipBoxThreshold: 0.05,
    });
  });

  it('reads S3 outputs and the legacy outputBucket/outputPrefix', () => {
    const run = build(
      request({
        outputs: [
          { type: 'S3', bucket: 'b1', prefix: 'p1/' },
          { type: 'S3', bucket: 'b2', prefix: '' },
        ],
        outputBucket: 'legacy',
        outputPrefix: 'old/',
      }),
    );
    expect(run.outputs).toEqual([
      { type: 'S3', bucket: 'b1', prefix: 'p1/' },
      { type: 'S3', bucket: 'b2', prefix: '' },
      { type: 'S3', bucket: 'legacy', prefix: 'old/' },
    ]);
    expect(build(request({ outputBucket: 'legacy' })).outputs).toEqual([{ type: 'S3', bucket: 'legacy', prefix: '' }]);
  });
});

describe('buildRunRequest: options (flags) beat the request file', () => {
  it('lets every flag override its field', () => {
    const file = request({
      jobId: 'file-job',
      imageProcessor: { name: 'file-endpoint', type: 'SM_ENDPOINT' },
      imageProcessorTileSize: 512,
      imageProcessorTileOverlap: 10,
      imageProcessorTileFormat: 'PNG',
      imageProcessorTileCompression: 'NONE',
      regionOfInterest: 'POINT (0 0)',
      postProcessing: [{ step: 'FEATURE_DISTILLATION', algorithm: { algorithmType: 'NMS', iouThreshold: 0.5 } }],
    });
    const run = buildRunRequest({
      request: file,
      requestSource: 'job.json',
      image: 'local.tif',
      options: {
        jobId: 'flag-job',
        endpoint: 'flag-endpoint',
        tileSize: 256,
        tileOverlap: 20,
        regionSize: 2048,
        tileFormat: 'gtiff',
        tileCompression: 'deflate',
        roi: 'POINT (5 5)',
        postProcessing: 'none',
        iou: 0.9,
      },
    });
    expect(run).toMatchObject({
      jobId: 'flag-job',
      imageUrl: 'local.tif',
      endpoint: 'flag-endpoint',
      endpointType: 'sagemaker',
      tileSize: 256,
      tileOverlap: 20,
      regionSize: 2048,
      tileFormat: 'GTIFF',
      tileCompression: 'DEFLATE',
      regionOfInterest: 'POINT (5 5)',
      postProcessing: { algorithm: 'NONE', iouThreshold: 0.9 },
    });
  });

  it('judges --endpoint by its form: an http(s) URL is http, a bare name is sagemaker', () => {
    const http = buildRunRequest({ image: 'a.tif', options: { endpoint: 'http://localhost:8080/invocations' } });
    expect(http).toMatchObject({ endpoint: 'http://localhost:8080/invocations', endpointType: 'http' });
    expect(buildRunRequest({ image: 'a.tif', options: { endpoint: 'HTTPS://model.example/x' } }).endpointType).toBe(
      'http',
    );
    expect(buildRunRequest({ image: 'a.tif', options: { endpoint: 'my-endpoint' } }).endpointType).toBe('sagemaker');
  });

  it('judges a flag endpoint by its form even when the file says HTTP_ENDPOINT', () => {
    const file = request({ imageProcessor: { name: 'http://file-model/', type: 'HTTP_ENDPOINT' } });
    expect(build(file, { endpoint: 'sm-endpoint' })).toMatchObject({
      endpoint: 'sm-endpoint',
      endpointType: 'sagemaker',
    });
  });

  it("merges featureProperties in order: the file's, then the flag's", () => {
    const run = build(request({ featureProperties: [{ a: 1 }, { b: 2 }] }), { featureProperties: { c: 3 } });
    expect(run.featureProperties).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('turns --out into a File output, first, before the S3 outputs', () => {
    const run = build(request({ outputs: [{ type: 'S3', bucket: 'b', prefix: 'p' }] }), { out: 'out/result.geojson' });
    expect(run.outputs).toEqual([
      { type: 'File', path: 'out/result.geojson' },
      { type: 'S3', bucket: 'b', prefix: 'p' },
    ]);
    expect(buildRunRequest({ image: 'a.tif', options: { endpoint: 'e', out: '-' } }).outputs).toEqual([
      { type: 'File', path: '-' },
    ]);
  });

  it('needs no request file: image and --endpoint are enough', () => {
    const run = buildRunRequest({ image: 'scene.tif', options: { endpoint: 'http://m/' } });
    expect(run).toMatchObject({ imageUrl: 'scene.tif', endpoint: 'http://m/', tileSize: 1024, outputs: [] });
  });
});

describe('buildRunRequest: errors', () => {
  it('lists every bad field of a request in one REQUEST_INVALID', () => {
    const error = errorOf(
      () =>
        build({
          imageUrls: [],
          imageProcessor: { name: 'my-endpoint' },
          imageProcesorTileSize: 512,
          imageProcessorTileOverlap: 2000,
          postProcessing: [{ step: 'FEATURE_DISTILLATION', algorithm: { algorithmType: 'NMS', iouThreshold: 2 } }],
        }),
      'REQUEST_INVALID',
    ) as ExtensionError<'REQUEST_INVALID'>;
    const { problems, where } = error.params;
    expect(where).toBe('job.json');
    expect(error.message).toContain('job.json');
    expect(problems.find((p) => p.startsWith('imageProcesorTileSize'))).toContain('"imageProcessorTileSize"');
    expect(problems.some((p) => p.startsWith('imageUrls'))).toBe(true);
    expect(problems.some((p) => /tileOverlap/i.test(p))).toBe(true);
    expect(problems.some((p) => p.includes('iouThreshold'))).toBe(true);
    expect(problems).toHaveLength(4);
  });

  it('checks the tile overlap against the tile size of the file, even when the file has another problem', () => {
    const problems = problemsOf(() =>
      build(request({ imageProcessorTileSize: 256, imageProcessorTileOverlap: 256, jobName: 7 })),
    );
    expect(problems.some((p) => p.startsWith('jobName'))).toBe(true);
    expect(problems.some((p) => /tileOverlap/i.test(p))).toBe(true);
  });

  it('does not report image or endpoint as missing when the schema already reports the request', () => {
    const problems = problemsOf(() => build({ imageUrls: [], imageProcessor: { name: 'e' }, typo: 1 }));
    expect(problems.some((p) => p.startsWith('image:'))).toBe(false);
    expect(problems.some((p) => p.startsWith('endpoint:'))).toBe(false);
    expect(problems).toHaveLength(2);
  });

  it('refuses an overlap at or above the tile size, and an iou above 1, from flags', () => {
    const problems = problemsOf(() =>
      buildRunRequest({ image: 'a.tif', options: { endpoint: 'e', tileSize: 256, tileOverlap: 256, iou: 2 } }),
    );
    expect(problems.some((p) => /tileOverlap/i.test(p))).toBe(true);
    expect(problems.some((p) => /iou/i.test(p))).toBe(true);
    expect(
      problemsOf(() => buildRunRequest({ image: 'a.tif', options: { endpoint: 'e', tileSize: 0 } })).some((p) =>
        /tileSize/.test(p),
      ),
    ).toBe(true);
    expect(
      problemsOf(() =>
        buildRunRequest({ image: 'a.tif', options: { endpoint: 'e', tileSize: 2048, regionSize: 1024 } }),
      ).some((p) => /regionSize/.test(p)),
    ).toBe(true);
  });

  it('accepts the largest overlap that is still below the tile size', () => {
    expect(
      buildRunRequest({ image: 'a.tif', options: { endpoint: 'e', tileSize: 256, tileOverlap: 255 } }).tileOverlap,
    ).toBe(255);
  });

  it('names both the image and the endpoint when neither is given', () => {
    const error = errorOf(() => buildRunRequest({}), 'REQUEST_INVALID') as ExtensionError<'REQUEST_INVALID'>;
    expect(error.params.problems.some((p) => p.startsWith('image'))).toBe(true);
    expect(error.params.problems.some((p) => p.startsWith('endpoint'))).toBe(true);
  });

  it('refuses NITF tiles and J2K compression with UNSUPPORTED, naming the field', () => {
    expect(errorOf(() => build(request({ imageProcessorTileFormat: 'NITF' })), 'UNSUPPORTED').message).toContain(
      'imageProcessorTileFormat',
    );
    expect(errorOf(() => build(request(), { tileFormat: 'nitf' }), 'UNSUPPORTED').message).toContain(
      'imageProcessorTileFormat',
    );
    expect(errorOf(() => build(request({ imageProcessorTileCompression: 'J2K' })), 'UNSUPPORTED').message).toContain(
      'imageProcessorTileCompression',
    );
  });

  it('refuses an unknown tile format with REQUEST_INVALID, naming the field', () => {
    expect(problemsOf(() => build(request({ imageProcessorTileFormat: 'BMP' })))[0]).toContain(
      'imageProcessorTileFormat',
    );
    expect(problemsOf(() => build(request(), { postProcessing: 'fancy' }))[0]).toContain('postProcessing');
  });

  it('refuses a Kinesis output with UNSUPPORTED', () => {
    const error = errorOf(() => build(request({ outputs: [{ type: 'Kinesis', stream: 'features' }] })), 'UNSUPPORTED');
    expect(error.message).toContain('Kinesis');
  });

  it('refuses an output of an unknown type, or an S3 output without a bucket, with REQUEST_INVALID', () => {
    expect(problemsOf(() => build(request({ outputs: [{ type: 'SNS', topic: 't' }] })))[0]).toContain('outputs');
    expect(problemsOf(() => build(request({ outputs: [{ type: 'S3', bucket: '', prefix: '' }] })))[0]).toContain(
      'outputs',
    );
  });

  it('says "the request" when a request without a source is invalid', () => {
    const error = errorOf(
      () => buildRunRequest({ request: 42 }),
      'REQUEST_INVALID',
    ) as ExtensionError<'REQUEST_INVALID'>;
    expect(error.params.where).toBe('the request');
  });
});
