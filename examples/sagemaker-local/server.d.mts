// Types for server.mjs, for TypeScript importers (the repo's tsconfig does not enable allowJs). Generated from the
// JSDoc in server.mjs; regenerate after changing its API:
//   npx tsc --allowJs --declaration --emitDeclarationOnly --module nodenext --moduleResolution nodenext \
//     --target es2022 --skipLibCheck --strict --outDir examples/sagemaker-local examples/sagemaker-local/server.mjs

/**
 * Start the local SageMaker runtime and S3.
 * @param {SageMakerLocalOptions} [options]
 * @returns {Promise<SageMakerLocal>}
 */
export function startSageMakerLocal(options?: SageMakerLocalOptions): Promise<SageMakerLocal>;
/** @typedef {'throttle' | 'model-error' | 'async-never' | 's3-put-denied'} Fault */
/**
 * @typedef {object} SageMakerLocalOptions
 * @property {string} [host] Interface for both servers (default '127.0.0.1').
 * @property {number} [port] Runtime port; 0 (default) picks a free one.
 * @property {number} [s3Port] S3 port; 0 (default) picks a free one.
 * @property {import('../model-server/server.mjs').ModelOptions} [model] The example model's options (mode, threshold…).
 * @property {string[]} [endpoints] Endpoint names that exist; others get ValidationError "not found". Default: any.
 * @property {string[]} [buckets] Buckets that exist; a write elsewhere gets NoSuchBucket. Default: any, made on use.
 * @property {string} [asyncOutput] Where async results go (default `s3://sagemaker-local/async-output/`).
 * @property {string} [asyncFailure] Where async failures go (default `s3://sagemaker-local/async-failures/`).
 * @property {number} [asyncDelayMs] How long an async job takes (default 50).
 * @property {number} [s3DelayMs] How long S3 takes to answer each request (default 0).
 * @property {Fault} [fault] Misbehave, to test a caller: `throttle` 429 ThrottlingException; `model-error` the
 *   container answers 500 (a ModelError, or a failure object for async); `async-never` an async job writes nothing;
 *   `s3-put-denied` PutObject gets 403 AccessDenied.
 * @property {number} [faultCalls] How many calls, from the first, get the fault (default: all). Invocations count for
 *   the runtime's faults, PutObject calls for `s3-put-denied`.
 * @property {number} [killAfter] After this many invocations the runtime dies: it stops listening and resets every
 *   later request, while the calls already in progress finish. S3 stays up.
 */
/**
 * @typedef {object} Invocation What the runtime received.
 * @property {'sync' | 'async'} kind
 * @property {string} endpoint
 * @property {string | undefined} contentType
 * @property {string | undefined} accept
 * @property {string | undefined} customAttributes
 * @property {string | undefined} targetVariant
 * @property {string | undefined} targetModel
 * @property {string | undefined} inferenceComponent
 * @property {number} bytes Body size (sync) or input object size (async, 0 when missing).
 * @property {string | undefined} inputLocation
 * @property {Fault | 'killed' | undefined} fault
 */
/**
 * @typedef {object} StoredObject
 * @property {Buffer} body
 * @property {string} contentType
 * @property {string} etag
 * @property {Date} lastModified
 */
/**
 * @typedef {object} SageMakerLocal
 * @property {string} runtimeUrl e.g. `http://127.0.0.1:PORT`.
 * @property {string} s3Url
 * @property {Record<string, string>} env The variables that point the AWS SDK here (endpoints, region, dummy keys).
 * @property {Invocation[]} invocations Every invocation received, in order.
 * @property {{ requests: number, inFlight: number, maxInFlight: number }} s3Stats S3 requests, and most at once.
 * @property {(bucket: string, key: string, body: Buffer | Uint8Array | string, contentType?: string) => void} putObject
 * @property {(bucket: string, key: string) => StoredObject | undefined} getObject
 * @property {(bucket?: string) => string[]} keys Every `s3://bucket/key` stored (in one bucket), sorted.
 * @property {() => void} kill Kill the runtime now (S3 stays up).
 * @property {() => Promise<void>} close Stop both servers, drop open connections and pending async jobs.
 */
export const ACCOUNT: '000000000000';
export const REGION: 'us-east-1';
export const DEFAULT_ASYNC_OUTPUT: 's3://sagemaker-local/async-output/';
export const DEFAULT_ASYNC_FAILURE: 's3://sagemaker-local/async-failures/';
export type Fault = 'throttle' | 'model-error' | 'async-never' | 's3-put-denied';
export type SageMakerLocalOptions = {
  /**
   * Interface for both servers (default '127.0.0.1').
   */
  host?: string | undefined;
  /**
   * Runtime port; 0 (default) picks a free one.
   */
  port?: number | undefined;
  /**
   * S3 port; 0 (default) picks a free one.
   */
  s3Port?: number | undefined;
  /**
   * The example model's options (mode, threshold…).
   */
  model?: import('../model-server/server.mjs').ModelOptions | undefined;
  /**
   * Endpoint names that exist; others get ValidationError "not found". Default: any.
   */
  endpoints?: string[] | undefined;
  /**
   * Buckets that exist; a write elsewhere gets NoSuchBucket. Default: any, made on use.
   */
  buckets?: string[] | undefined;
  /**
   * Where async results go (default `s3://sagemaker-local/async-output/`).
   */
  asyncOutput?: string | undefined;
  /**
   * Where async failures go (default `s3://sagemaker-local/async-failures/`).
   */
  asyncFailure?: string | undefined;
  /**
   * How long an async job takes (default 50).
   */
  asyncDelayMs?: number | undefined;
  /**
   * How long S3 takes to answer each request (default 0).
   */
  s3DelayMs?: number | undefined;
  /**
   * Misbehave, to test a caller: `throttle` 429 ThrottlingException; `model-error` the
   * container answers 500 (a ModelError, or a failure object for async); `async-never` an async job writes nothing;
   * `s3-put-denied` PutObject gets 403 AccessDenied.
   */
  fault?: Fault | undefined;
  /**
   * How many calls, from the first, get the fault (default: all). Invocations count for
   * the runtime's faults, PutObject calls for `s3-put-denied`.
   */
  faultCalls?: number | undefined;
  /**
   * After this many invocations the runtime dies: it stops listening and resets every
   * later request, while the calls already in progress finish. S3 stays up.
   */
  killAfter?: number | undefined;
};
/**
 * What the runtime received.
 */
export type Invocation = {
  kind: 'sync' | 'async';
  endpoint: string;
  contentType: string | undefined;
  accept: string | undefined;
  customAttributes: string | undefined;
  targetVariant: string | undefined;
  targetModel: string | undefined;
  inferenceComponent: string | undefined;
  /**
   * Body size (sync) or input object size (async, 0 when missing).
   */
  bytes: number;
  inputLocation: string | undefined;
  fault: Fault | 'killed' | undefined;
};
export type StoredObject = {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
};
export type SageMakerLocal = {
  /**
   * e.g. `http://127.0.0.1:PORT`.
   */
  runtimeUrl: string;
  s3Url: string;
  /**
   * The variables that point the AWS SDK here (endpoints, region, dummy keys).
   */
  env: Record<string, string>;
  /**
   * Every invocation received, in order.
   */
  invocations: Invocation[];
  /**
   * S3 requests, and most at once.
   */
  s3Stats: {
    requests: number;
    inFlight: number;
    maxInFlight: number;
  };
  putObject: (bucket: string, key: string, body: Buffer | Uint8Array | string, contentType?: string) => void;
  getObject: (bucket: string, key: string) => StoredObject | undefined;
  /**
   * Every `s3://bucket/key` stored (in one bucket), sorted.
   */
  keys: (bucket?: string) => string[];
  /**
   * Kill the runtime now (S3 stays up).
   */
  kill: () => void;
  /**
   * Stop both servers, drop open connections and pending async jobs.
   */
  close: () => Promise<void>;
};
