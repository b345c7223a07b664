/**
 * AWS SDK errors as a person reads them: what SageMaker or S3 said, with the hint that fixes it.
 * Errors are told apart by the SDK's `name`, HTTP status and Node error `code`, never by wording,
 * and this module imports nothing from the SDK (it is loaded on every run, the SDK only when used).
 */
import { excerpt } from './http-model.js';

/** The fields of an SDK error that matter here (`ServiceException`, `ModelError`, Node network errors). */
interface SdkErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  OriginalStatusCode?: unknown;
  OriginalMessage?: unknown;
  LogStreamArn?: unknown;
}

/** The SDK's throttling error names (its retry strategy backs off on these and on any 429). */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ModelNotReadyException',
]);
/** Node's codes for a service that cannot be reached. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

const fields = (error: unknown): SdkErrorLike =>
  typeof error === 'object' && error !== null ? (error as SdkErrorLike) : { message: String(error) };

/** The HTTP status of an SDK error, if it got an answer. */
export const httpStatus = (error: unknown): number | undefined => fields(error).$metadata?.httpStatusCode;

/** True for "no such object": S3's `NoSuchKey`, a HEAD's `NotFound`, or any 404. */
export function isNotFound(error: unknown): boolean {
  const { name } = fields(error);
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(error) === 404;
}

/** True when the service throttled the call (after the SDK's own retries, if this is the final error). */
export function isThrottled(error: unknown): boolean {
  return THROTTLING.has(String(fields(error).name)) || httpStatus(error) === 429;
}

/** `, after N attempts` when the SDK retried. */
function attemptsNote(error: SdkErrorLike): string {
  const attempts = error.$metadata?.attempts;
  return attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : '';
}

/**
 * One sentence on why an SDK call failed, with the fix where there is one. Never includes request
 * headers, so never a credential.
 * @example
 * awsReason(error) // 'the model container answered 500: {"error":"boom"} (ModelError)'
 */
export function awsReason(error: unknown): string {
  const e = fields(error);
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = excerpt(typeof e.message === 'string' && e.message !== '' ? e.message : 'no message');
  const status = httpStatus(error);
  const tag = status === undefined ? name : `${name}, ${status}`;
  const tried = attemptsNote(e);
  if (name === 'ModelError') {
    const original = typeof e.OriginalMessage === 'string' ? `: ${excerpt(e.OriginalMessage)}` : '';
    const logs = typeof e.LogStreamArn === 'string' ? `; its logs: ${e.LogStreamArn}` : '';
    return `the model container answered ${String(e.OriginalStatusCode ?? 'an error')}${original} (ModelError${logs})`;
  }
  if (name === 'ValidationError')
    return `SageMaker refused the request: ${message} (${tag}); check the endpoint name, its region (AWS_REGION) and imageProcessorParameters`;
  if (isThrottled(error))
    return `the request was throttled (${tag})${tried}; lower --concurrency, or allow more retries with AWS_MAX_ATTEMPTS`;
  if (name === 'CredentialsProviderError')
    return `no AWS credentials were found (${message}); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  if (/region is missing/i.test(message))
    return 'no AWS region is set; set AWS_REGION (or a region in your AWS profile)';
  if (typeof e.code === 'string' && NETWORK.has(e.code)) return `the service could not be reached: ${message}${tried}`;
  if (name === 'TimeoutError' || name === 'RequestTimeout') return `no answer in time (${message})${tried}`;
  if (name === 'NoSuchBucket') return `the bucket does not exist (${tag})`;
  if (name === 'AccessDenied' || status === 403) return `access was denied (${tag}): check the IAM permissions`;
  if (isNotFound(error)) return `there is no such object (${tag})`;
  return `${message} (${tag})${tried}`;
}
