/**
 * SDK errors → the reasons in MODEL_FAILED / ASYNC_INPUT_FAILED / OUTPUT_FAILED messages, on the
 * SDK's own exception classes (no client involved).
 */
import { NoSuchBucket, NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import {
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeServiceException,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { awsReason, isNotFound, isThrottled } from '../../src/services/aws-errors.js';

const meta = (httpStatusCode: number, attempts = 1) => ({ $metadata: { httpStatusCode, attempts } });

describe('awsReason', () => {
  it.each([
    [
      'a ModelError: the container status, its message and the log stream',
      new ModelError({
        ...meta(424),
        message: 'Received server error (500) from primary',
        OriginalStatusCode: 500,
        OriginalMessage: '{"error":"boom"}',
        LogStreamArn: 'arn:aws:logs:x',
      }),
      /^the model container answered 500: \{"error":"boom"\} \(ModelError; its logs: arn:aws:logs:x\)$/,
    ],
    [
      'a ValidationError (a missing endpoint): what SageMaker said, and what to check',
      new ValidationError({ ...meta(400), message: 'Endpoint e of account 1 not found.' }),
      /refused the request: Endpoint e of account 1 not found\. \(ValidationError, 400\); check the endpoint name/,
    ],
    [
      'throttling that outlasted the retries',
      new SageMakerRuntimeServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        ...meta(429, 3),
        message: 'Rate exceeded',
      }),
      /throttled \(ThrottlingException, 429\) after 3 attempts; lower --concurrency, or allow more retries with AWS_MAX_ATTEMPTS/,
    ],
    [
      'a model that is not ready (429)',
      new ModelNotReadyException({ ...meta(429, 3), message: 'not ready' }),
      /throttled \(ModelNotReadyException, 429\)/,
    ],
    [
      'a SageMaker 5xx after retries',
      new InternalFailure({ ...meta(500, 3), message: 'oops' }),
      /^oops \(InternalFailure, 500\) after 3 attempts$/,
    ],
    [
      'a runtime that cannot be reached',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
        code: 'ECONNREFUSED',
        $metadata: { attempts: 3 },
      }),
      /^the service could not be reached: connect ECONNREFUSED 127\.0\.0\.1:9 after 3 attempts$/,
    ],
    [
      'no credentials',
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      /no AWS credentials were found .*AWS_PROFILE/,
    ],
    ['no region', new Error('Region is missing'), /no AWS region is set; set AWS_REGION/],
    [
      'a missing bucket',
      new NoSuchBucket({ ...meta(404), message: 'The specified bucket does not exist' }),
      /^the bucket does not exist \(NoSuchBucket, 404\)$/,
    ],
    [
      'access denied',
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', ...meta(403), message: 'Access Denied' }),
      /^access was denied \(AccessDenied, 403\): check the IAM permissions$/,
    ],
    ['a thrown non-error', 'weird', /^weird \(Error\)$/],
  ])('explains %s', (_what, error, expected) => {
    expect(awsReason(error)).toMatch(expected);
  });
});

describe('isNotFound / isThrottled', () => {
  it("treats NoSuchKey, a HEAD's NotFound and any 404 as absent; nothing else", () => {
    expect(isNotFound(new NoSuchKey({ ...meta(404), message: 'x' }))).toBe(true);
    expect(isNotFound(new S3ServiceException({ name: 'NotFound', $fault: 'client', ...meta(404) }))).toBe(true);
    expect(isNotFound(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', ...meta(403) }))).toBe(false);
  });

  it('recognises throttling by name or by a 429', () => {
    expect(isThrottled({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isThrottled({ name: 'Whatever', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottled(new ValidationError({ ...meta(400), message: 'x' }))).toBe(false);
  });
});
