// @ts-check
/**
 * A local SageMaker runtime and S3, for tests and for trying the SageMaker request types without an AWS account.
 *
 *   runtime  POST /endpoints/{name}/invocations        real-time inference (InvokeEndpoint)
 *            POST /endpoints/{name}/async-invocations  async inference (InvokeEndpointAsync): reads the input from
 *                                                      X-Amzn-SageMaker-InputLocation, answers 202 with the output and
 *                                                      failure locations, writes one of them into S3 a little later
 *   S3       PUT | GET | HEAD /{bucket}/{key}           path-style PutObject, GetObject, HeadObject
 *
 * Both speak the REST protocols the AWS SDK v3 uses, so the SDK talks to them unchanged once pointed here with
 * AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME and AWS_ENDPOINT_URL_S3 (signatures are not checked; any credentials do). The
 * model is the example model's `handleInvocation`. Run `node examples/sagemaker-local/server.mjs --help`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { handleInvocation, InvalidImageError } from '../model-server/server.mjs';

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

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
export const DEFAULT_ASYNC_OUTPUT = 's3://sagemaker-local/async-output/';
export const DEFAULT_ASYNC_FAILURE = 's3://sagemaker-local/async-failures/';
const FAULTS = /** @type {const} */ (['throttle', 'model-error', 'async-never', 's3-put-denied']);

/** @param {unknown} err */
const errorMessage = (err) => (err instanceof Error ? err.message : String(err));

/** @param {string} url @returns {{ bucket: string, key: string } | undefined} */
function parseS3Url(url) {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  return match ? { bucket: /** @type {string} */ (match[1]), key: match[2] ?? '' } : undefined;
}

/** @param {string} url @param {string} name */
function requireS3Url(url, name) {
  const location = parseS3Url(url);
  if (location === undefined)
    throw new TypeError(`${name} must be an s3://bucket/prefix/ URL, got ${JSON.stringify(url)}`);
  return location;
}

/** @param {http.IncomingMessage} req @returns {Promise<Buffer>} */
function readBody(req) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (/** @type {Buffer} */ chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The payload of an `aws-chunked` body (`<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailers>\r\n\r\n`),
 * which the SDK sends for streamed uploads.
 * @param {Buffer} body
 */
function decodeAwsChunked(body) {
  /** @type {Buffer[]} */
  const parts = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * @param {http.ServerResponse} res @param {number} status @param {string | Buffer} body
 * @param {Record<string, string | number>} [headers]
 */
function send(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** A SageMaker (REST-JSON) error. @param {http.ServerResponse} res @param {number} status @param {string} type @param {Record<string, unknown>} body */
function sendAwsError(res, status, type, body) {
  send(res, status, JSON.stringify(body), {
    'Content-Type': 'application/json',
    'x-amzn-ErrorType': `${type}:http://internal.amazon.com/coral/com.amazonaws.sagemaker/`,
    'x-amzn-RequestId': randomUUID(),
  });
}

/** An S3 (REST-XML) error; HEAD answers carry no body. @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {number} status @param {string} code @param {string} message */
function sendS3Error(req, res, status, code, message) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomUUID()}</RequestId></Error>`;
  if (req.method === 'HEAD') return send(res, status, '', { 'x-amz-request-id': randomUUID() });
  send(res, status, xml, { 'Content-Type': 'application/xml' });
}

/** @param {http.Server} server @param {number} port @param {string} host @returns {Promise<string>} */
async function listen(server, port, host) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

/**
 * Start the local SageMaker runtime and S3.
 * @param {SageMakerLocalOptions} [options]
 * @returns {Promise<SageMakerLocal>}
 */
export async function startSageMakerLocal(options = {}) {
  const host = options.host ?? '127.0.0.1';
  if (options.fault !== undefined && !FAULTS.includes(options.fault))
    throw new TypeError(`unknown fault ${JSON.stringify(options.fault)}; expected one of ${FAULTS.join(', ')}`);
  const asyncOutput = requireS3Url(options.asyncOutput ?? DEFAULT_ASYNC_OUTPUT, 'asyncOutput');
  const asyncFailure = requireS3Url(options.asyncFailure ?? DEFAULT_ASYNC_FAILURE, 'asyncFailure');
  const asyncDelayMs = options.asyncDelayMs ?? 50;
  const faultCalls = options.faultCalls ?? Infinity;

  /** @type {Map<string, Map<string, StoredObject>>} */
  const buckets = new Map((options.buckets ?? []).map((b) => [b, new Map()]));
  const anyBucket = options.buckets === undefined;
  /** @param {string} name @param {boolean} create */
  const bucket = (name, create) => {
    let found = buckets.get(name);
    if (found === undefined && (create || anyBucket)) buckets.set(name, (found = new Map()));
    return found;
  };
  /** @type {SageMakerLocal['putObject']} */
  const putObject = (bucketName, key, body, contentType = 'application/octet-stream') => {
    const bytes = Buffer.from(body);
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    /** @type {Map<string, StoredObject>} */ (bucket(bucketName, true)).set(key, {
      body: bytes,
      contentType,
      etag,
      lastModified: new Date(),
    });
  };
  const getObject = (/** @type {string} */ bucketName, /** @type {string} */ key) => buckets.get(bucketName)?.get(key);

  /** @type {Invocation[]} */
  const invocations = [];
  const s3Stats = { requests: 0, inFlight: 0, maxInFlight: 0 };
  let puts = 0;
  let dead = false;
  /** @type {Set<NodeJS.Timeout>} */
  const jobs = new Set();
  const modelOptions = options.model ?? {};

  /** The container's answer to one tile: [status, body]. @param {Buffer} bytes @param {boolean} faulted */
  const runModel = async (bytes, faulted) => {
    if (faulted) return /** @type {const} */ ([500, JSON.stringify({ error: 'injected fault: model-error' })]);
    try {
      return /** @type {const} */ ([200, JSON.stringify(await handleInvocation(bytes, modelOptions))]);
    } catch (err) {
      const status = err instanceof InvalidImageError ? 400 : 500;
      return /** @type {const} */ ([status, JSON.stringify({ error: errorMessage(err) })]);
    }
  };

  /** @param {string} bucketName @param {string} key @param {string} text */
  const writeResult = (bucketName, key, text) => putObject(bucketName, key, text, 'application/json');

  const runtime = http.createServer((req, res) => {
    if (dead) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = /^\/endpoints\/([^/]+)\/(invocations|async-invocations)$/.exec(url.pathname);
    if (req.method !== 'POST' || route === null)
      return sendAwsError(res, 404, 'UnknownOperationException', {
        message: `no operation ${req.method} ${url.pathname}`,
      });
    const endpoint = decodeURIComponent(/** @type {string} */ (route[1]));
    const kind = route[2] === 'invocations' ? 'sync' : 'async';
    const call = invocations.length + 1;
    const header = (/** @type {string} */ name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    };
    /** @type {Invocation} */
    const invocation = {
      kind,
      endpoint,
      contentType: header(kind === 'sync' ? 'content-type' : 'X-Amzn-SageMaker-Content-Type'),
      accept: header(kind === 'sync' ? 'accept' : 'X-Amzn-SageMaker-Accept'),
      customAttributes: header('X-Amzn-SageMaker-Custom-Attributes'),
      targetVariant: header('X-Amzn-SageMaker-Target-Variant'),
      targetModel: header('X-Amzn-SageMaker-Target-Model'),
      inferenceComponent: header('X-Amzn-SageMaker-Inference-Component'),
      bytes: 0,
      inputLocation: header('X-Amzn-SageMaker-InputLocation'),
      fault: undefined,
    };
    invocations.push(invocation);
    if (options.killAfter !== undefined && call > options.killAfter) {
      invocation.fault = 'killed';
      kill();
      req.socket.destroy();
      return;
    }
    const faulted = options.fault !== undefined && call <= faultCalls ? options.fault : undefined;
    handle().catch((err) => sendAwsError(res, 500, 'InternalFailure', { message: errorMessage(err) }));

    async function handle() {
      const body = await readBody(req);
      if (options.endpoints !== undefined && !options.endpoints.includes(endpoint))
        return sendAwsError(res, 400, 'ValidationError', {
          message: `Endpoint ${endpoint} of account ${ACCOUNT} not found.`,
        });
      if (faulted === 'throttle') {
        invocation.fault = faulted;
        return sendAwsError(res, 429, 'ThrottlingException', { message: 'Rate exceeded' });
      }
      if (kind === 'sync') {
        invocation.bytes = body.length;
        if (faulted === 'model-error') invocation.fault = faulted;
        const [status, answer] = await runModel(body, faulted === 'model-error');
        if (status === 200)
          return send(res, 200, answer, {
            'Content-Type': 'application/geo+json',
            'x-Amzn-Invoked-Production-Variant': 'AllTraffic',
          });
        return sendAwsError(res, 424, 'ModelError', {
          ErrorCode: 'CLIENT_ERROR_FROM_MODEL',
          OriginalStatusCode: status,
          OriginalMessage: answer,
          LogStreamArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/${endpoint}`,
          Message: `Received ${status >= 500 ? 'server' : 'client'} error (${status}) from primary with message "${answer}".`,
        });
      }
      const input = parseS3Url(invocation.inputLocation ?? '');
      if (input === undefined)
        return sendAwsError(res, 400, 'ValidationError', { message: 'InputLocation must be an s3:// URL' });
      const id = randomUUID();
      const output = { bucket: asyncOutput.bucket, key: `${asyncOutput.key}${id}.out` };
      const failure = { bucket: asyncFailure.bucket, key: `${asyncFailure.key}${id}-error.out` };
      invocation.fault = faulted === 'model-error' || faulted === 'async-never' ? faulted : undefined;
      const job = setTimeout(async () => {
        jobs.delete(job);
        if (faulted === 'async-never') return;
        const object = getObject(input.bucket, input.key);
        invocation.bytes = object?.body.length ?? 0;
        if (object === undefined)
          return writeResult(failure.bucket, failure.key, `input ${invocation.inputLocation} not found`);
        const [status, answer] = await runModel(object.body, faulted === 'model-error');
        if (status === 200) writeResult(output.bucket, output.key, answer);
        else writeResult(failure.bucket, failure.key, `Received ${status} from the model: ${answer}`);
      }, asyncDelayMs);
      jobs.add(job);
      send(res, 202, JSON.stringify({ InferenceId: id }), {
        'Content-Type': 'application/json',
        'X-Amzn-SageMaker-OutputLocation': `s3://${output.bucket}/${output.key}`,
        'X-Amzn-SageMaker-FailureLocation': `s3://${failure.bucket}/${failure.key}`,
      });
    }
  });

  const s3 = http.createServer((req, res) => {
    s3Stats.requests++;
    s3Stats.inFlight++;
    s3Stats.maxInFlight = Math.max(s3Stats.maxInFlight, s3Stats.inFlight);
    res.on('close', () => s3Stats.inFlight--);
    const delay = options.s3DelayMs ?? 0;
    const answer = () =>
      handleS3(req, res).catch((err) => sendS3Error(req, res, 500, 'InternalError', errorMessage(err)));
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async function handleS3(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    if (bucketName === '' || key === '')
      return sendS3Error(req, res, 501, 'NotImplemented', 'only PutObject, GetObject and HeadObject are implemented');
    if (req.method === 'PUT') {
      const raw = await readBody(req);
      puts++;
      if (options.fault === 's3-put-denied' && puts <= faultCalls)
        return sendS3Error(req, res, 403, 'AccessDenied', 'Access Denied');
      if (bucket(bucketName, false) === undefined)
        return sendS3Error(req, res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
      const chunked = String(req.headers['content-encoding'] ?? '').includes('aws-chunked');
      const type = req.headers['content-type'];
      putObject(bucketName, key, chunked ? decodeAwsChunked(raw) : raw, type);
      return send(res, 200, '', { ETag: /** @type {StoredObject} */ (getObject(bucketName, key)).etag });
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (!buckets.has(bucketName))
        return sendS3Error(req, res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
      const object = getObject(bucketName, key);
      if (object === undefined) return sendS3Error(req, res, 404, 'NoSuchKey', 'The specified key does not exist.');
      const headers = {
        'Content-Type': object.contentType,
        ETag: object.etag,
        'Last-Modified': object.lastModified.toUTCString(),
      };
      if (req.method === 'HEAD') {
        res.writeHead(200, { ...headers, 'Content-Length': object.body.length });
        return res.end();
      }
      return send(res, 200, object.body, headers);
    }
    sendS3Error(req, res, 501, 'NotImplemented', `${req.method} is not implemented`);
  }

  const runtimeUrl = await listen(runtime, options.port ?? 0, host);
  const s3Url = await listen(s3, options.s3Port ?? 0, host).catch(async (err) => {
    runtime.close();
    throw err;
  });

  function kill() {
    if (dead) return;
    dead = true;
    runtime.close();
    // Idle keep-alive sockets go now; the calls in progress finish, later requests on their sockets are reset.
    runtime.closeIdleConnections();
  }

  /** @type {Promise<void> | undefined} */
  let closing;
  return {
    runtimeUrl,
    s3Url,
    env: {
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: runtimeUrl,
      AWS_ENDPOINT_URL_S3: s3Url,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    },
    invocations,
    s3Stats,
    putObject,
    getObject,
    keys(bucketName) {
      const names = bucketName === undefined ? [...buckets.keys()] : [bucketName];
      return names.flatMap((b) => [...(buckets.get(b)?.keys() ?? [])].map((k) => `s3://${b}/${k}`)).sort();
    },
    kill,
    close() {
      closing ??= (async () => {
        for (const job of jobs) clearTimeout(job);
        jobs.clear();
        dead = true;
        await Promise.all(
          [runtime, s3].map(
            (server) =>
              new Promise((resolve) => {
                server.close(() => resolve(undefined));
                server.closeAllConnections();
              }),
          ),
        );
      })();
      return closing;
    },
  };
}

const USAGE = `usage: node examples/sagemaker-local/server.mjs [options]
  --port N            SageMaker runtime port (default 8090; 0 = any free port)
  --s3-port N         S3 port (default 9000; 0 = any free port)
  --host H            interface (default 127.0.0.1)
  --mode M            the example model: blobs (default) | center
  --threshold N       brightness threshold 0-255 (default 200)
  --endpoint NAME     an endpoint that exists (repeat; default: any name)
  --bucket NAME       a bucket that exists (repeat; default: any, made on first write)
  --async-delay-ms N  how long an async job takes (default 50)
  --fault F           ${FAULTS.join(' | ')}
  --fault-calls N     calls that get the fault, from the first (default: all)
  --kill-after N      the runtime dies after N invocations`;

/** @param {string[]} argv */
async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      's3-port': { type: 'string' },
      host: { type: 'string' },
      mode: { type: 'string' },
      threshold: { type: 'string' },
      endpoint: { type: 'string', multiple: true },
      bucket: { type: 'string', multiple: true },
      'async-delay-ms': { type: 'string' },
      fault: { type: 'string' },
      'fault-calls': { type: 'string' },
      'kill-after': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  /** @param {string | undefined} v @param {string} name */
  const num = (v, name) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new TypeError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
    return n;
  };
  const mode = values.mode ?? 'blobs';
  if (mode !== 'blobs' && mode !== 'center') throw new TypeError('--mode must be blobs or center');
  const local = await startSageMakerLocal({
    host: values.host ?? '127.0.0.1',
    port: num(values.port, 'port') ?? 8090,
    s3Port: num(values['s3-port'], 's3-port') ?? 9000,
    model: { mode, threshold: num(values.threshold, 'threshold') },
    endpoints: values.endpoint,
    buckets: values.bucket,
    asyncDelayMs: num(values['async-delay-ms'], 'async-delay-ms'),
    fault: /** @type {Fault | undefined} */ (values.fault),
    faultCalls: num(values['fault-calls'], 'fault-calls'),
    killAfter: num(values['kill-after'], 'kill-after'),
  });
  const exports = Object.entries(local.env).map(([k, v]) => `export ${k}=${v}`);
  process.stderr.write(
    `sagemaker-local: runtime ${local.runtimeUrl}, S3 ${local.s3Url}${values.fault ? `, fault ${values.fault}` : ''}\n` +
      `point the AWS SDK here with:\n${exports.join('\n')}\n`,
  );
  const stop = () => {
    process.stderr.write('sagemaker-local closing\n');
    local.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const isMain = (() => {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`sagemaker-local: ${errorMessage(err)}\n${USAGE}\n`);
    process.exit(2);
  });
}
