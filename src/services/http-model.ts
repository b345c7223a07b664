/**
 * The `http` model invoker: POSTs a tile's encoded bytes to the model, OSML's HTTP_ENDPOINT way, and
 * returns the parsed JSON answer. Retries with capped, jittered backoff on 429, 5xx, timeouts and
 * connection errors; anything else fails the tile at once.
 */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExtensionError } from '../shared/errors.js';
import type { FeatureCollection } from '../shared/geojson.js';
import type { ModelInvoker, TileRequest } from './types.js';

/** Options for {@link HttpModelInvoker}. */
export interface HttpModelInvokerOptions {
  /**
   * A fetch implementation to use instead of the built-in transport (node:http with keep-alive,
   * which the run benchmark measured much cheaper per tile than undici's fetch).
   */
  fetch?: typeof fetch;
  /** Per-attempt timeout in milliseconds. @default 30000 */
  timeoutMs?: number;
  /** Attempts after the first, for 429, 5xx, timeouts and connection errors. @default 3 */
  retries?: number;
  /** First backoff in milliseconds; doubled per attempt, capped at `maxBackoffMs`, with jitter. @default 250 */
  backoffMs?: number;
  /** @default 5000 */
  maxBackoffMs?: number;
}

/** Longest stretch of a response body quoted in an error message. */
const EXCERPT_LENGTH = 200;
/** The start of a long text, for an error message. */
export const excerpt = (text: string): string =>
  text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH)}...` : text;

/** How messages name a tile that has no name of its own. */
export const tileLabel = (tile: TileRequest): string => tile.name ?? `tile at x=${tile.bounds.x} y=${tile.bounds.y}`;

/**
 * The request body for a tile: its encoded bytes with their media type or, for a tile built by hand
 * without pixels, the legacy `{imageId, bounds}` JSON.
 */
export function tileBody(tile: TileRequest): { body: Uint8Array | string; contentType: string } {
  if (tile.body === undefined)
    return { body: JSON.stringify({ imageId: tile.imageId, bounds: tile.bounds }), contentType: 'application/json' };
  return { body: tile.body, contentType: tile.contentType ?? 'application/octet-stream' };
}

/**
 * A model's answer text as JSON (its shape is the region handler's to check).
 *
 * @throws ExtensionError MODEL_OUTPUT_INVALID naming the tile and endpoint when it is not JSON.
 */
export function parseAnswer(text: string, tile: string, endpoint: string): FeatureCollection {
  try {
    return JSON.parse(text) as FeatureCollection;
  } catch {
    const problem = `a body that is not JSON: ${JSON.stringify(excerpt(text))}`;
    throw new ExtensionError('MODEL_OUTPUT_INVALID', { tile, endpoint, problem });
  }
}

/** An error's message plus its cause's: Node's fetch says only "fetch failed" and puts the reason in `cause`. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

/** A failed attempt: whether another attempt may help, and how long the server asked us to wait. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const positive = (name: string, value: number, allowZero = false): number => {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number; received ${String(value)}`,
    );
  }
  return value;
};

/** Keep-alive agents: one connection pool per process, reused by every tile. */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** One POST over node:http(s); the whole exchange is bounded by `timeoutMs`. */
function post(
  endpoint: string,
  headers: Record<string, string>,
  body: string | Uint8Array,
  timeoutMs: number,
): Promise<{ response: { ok: boolean; status: number; statusText: string; retryAfter: string | null }; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(endpoint);
    const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (client === undefined) {
      reject(new Error(`unsupported protocol ${url.protocol}`));
      return;
    }
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(size) },
        agent: AGENTS[url.protocol as 'http:'],
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          const retryAfter = res.headers['retry-after'];
          resolve({
            response: {
              ok: status >= 200 && status < 300,
              status,
              statusText: res.statusMessage ?? '',
              retryAfter: retryAfter ?? null,
            },
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    const timer = setTimeout(
      () => request.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })),
      timeoutMs,
    );
    request.on('error', fail);
    request.end(body);
  });
}

/**
 * Calls a model over HTTP. The body is the tile's encoded bytes with its Content-Type and
 * `Accept: application/geo+json` (with no bytes, the legacy `{imageId, bounds}` JSON). The
 * request's `CustomAttributes` parameter travels as `X-Amzn-SageMaker-Custom-Attributes`, as OSML sends it.
 */
export class HttpModelInvoker implements ModelInvoker {
  private readonly fetch: typeof fetch | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;

  /** @throws RangeError on a non-positive timeout or a negative retry count or backoff. */
  constructor(options: HttpModelInvokerOptions = {}) {
    this.fetch = options.fetch;
    this.timeoutMs = positive('timeoutMs', options.timeoutMs ?? 30_000);
    this.retries = Math.floor(positive('retries', options.retries ?? 3, true));
    this.backoffMs = positive('backoffMs', options.backoffMs ?? 250, true);
    this.maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs ?? 5000, true);
  }

  /**
   * Runs the model on one tile and returns its parsed JSON answer (checked by the caller).
   *
   * @throws ExtensionError MODEL_FAILED naming the tile and endpoint once the retries are spent;
   *   MODEL_OUTPUT_INVALID when a 2xx answer is not JSON.
   */
  async invoke(tile: TileRequest): Promise<FeatureCollection> {
    const tileName = tileLabel(tile);
    for (let attempt = 0; ; attempt++) {
      try {
        return parseAnswer(await this.attempt(tile), tileName, tile.endpoint);
      } catch (error) {
        if (!(error instanceof AttemptError)) throw error;
        if (!error.retryable || attempt >= this.retries) {
          const tries = attempt === 0 ? '' : ` (after ${attempt + 1} attempts)`;
          throw new ExtensionError('MODEL_FAILED', {
            tile: tileName,
            endpoint: tile.endpoint,
            reason: `${error.message}${tries}`,
          });
        }
        const backoff = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
        await sleep(Math.max(error.retryAfterMs ?? 0, backoff * (0.5 + Math.random() / 2)));
      }
    }
  }

  /** One POST; resolves to the 2xx body, or throws an {@link AttemptError}. */
  private async attempt(tile: TileRequest): Promise<string> {
    const headers: Record<string, string> = { accept: 'application/geo+json, application/json' };
    const custom = tile.parameters?.['CustomAttributes'];
    if (typeof custom === 'string') headers['x-amzn-sagemaker-custom-attributes'] = custom;
    const { body, contentType } = tileBody(tile);
    headers['content-type'] = contentType;
    let response: { ok: boolean; status: number; statusText: string; retryAfter: string | null };
    let text: string;
    try {
      if (this.fetch === undefined) {
        ({ response, text } = await post(tile.endpoint, headers, body, this.timeoutMs));
      } else {
        // Called unbound: some fetch implementations reject `this` being anything but the global.
        const fetchFn = this.fetch;
        const answer = await fetchFn(tile.endpoint, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await answer.text();
        response = {
          ok: answer.ok,
          status: answer.status,
          statusText: answer.statusText,
          retryAfter: answer.headers.get('retry-after'),
        };
      }
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      throw new AttemptError(
        timedOut ? `no answer within ${this.timeoutMs} ms` : `the request failed: ${errorText(err)}`,
        true,
      );
    }
    if (response.ok) return text;
    const status = `it answered ${response.status} ${response.statusText}${text.trim() === '' ? '' : `: ${excerpt(text.trim())}`}`;
    const retryAfter = Number(response.retryAfter);
    const retryAfterMs =
      Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, this.maxBackoffMs) : undefined;
    throw new AttemptError(status, response.status === 429 || response.status >= 500, retryAfterMs);
  }
}
