import type { FeatureCollection, ModelInvoker, TileRequest } from './types.js';

/** Options for {@link HttpModelInvoker}. */
export interface HttpModelInvokerOptions {
  /** The fetch implementation to use; defaults to the global one. */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds; defaults to 30000. */
  timeoutMs?: number;
}

/** Longest stretch of a response body quoted in an error message. */
const EXCERPT_LENGTH = 200;

const excerpt = (text: string): string => (text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH)}...` : text);

/** An error's message plus its cause's: Node's fetch says only "fetch failed" and puts the reason in `cause`. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

/** Describes a parsed JSON value that is not a FeatureCollection, for error messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const type: unknown = (value as { type?: unknown }).type;
  return type === undefined ? 'an object with no "type"' : `an object with type ${JSON.stringify(type)}`;
}

/** Returns why `value` is not a FeatureCollection, or undefined if it is one. */
function featureCollectionProblem(value: unknown): string | undefined {
  const fc = value as { type?: unknown; features?: unknown };
  if (typeof value !== 'object' || value === null || fc.type !== 'FeatureCollection') {
    return `expected a GeoJSON FeatureCollection, received ${describe(value)}`;
  }
  if (!Array.isArray(fc.features)) {
    return `expected "features" to be an array, received ${describe(fc.features)}`;
  }
  const bad = fc.features.findIndex((f: unknown) => (f as { type?: unknown } | null)?.type !== 'Feature');
  if (bad === -1) return undefined;
  return `expected features[${bad}] to be a Feature, received ${describe(fc.features[bad])}`;
}

/**
 * Calls a model over HTTP: POSTs `{ imageId, bounds }` as JSON to the tile's endpoint and
 * expects a GeoJSON FeatureCollection back, in tile pixel coordinates.
 */
export class HttpModelInvoker implements ModelInvoker {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  /** @throws RangeError if `timeoutMs` is not a positive finite number. */
  constructor(options: HttpModelInvokerOptions = {}) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive finite number; received ${String(options.timeoutMs)}`);
    }
  }

  /**
   * Runs the model on one tile.
   *
   * @throws Error naming the endpoint if the request fails or times out, the response is not
   *   2xx, or its body is not a FeatureCollection.
   */
  async invoke(tile: TileRequest): Promise<FeatureCollection> {
    const url = tile.endpoint;
    // Called unbound: some fetch implementations reject `this` being anything but the global.
    const fetchFn = this.fetch;
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ imageId: tile.imageId, bounds: tile.bounds }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      const reason =
        err instanceof Error && err.name === 'TimeoutError'
          ? `timed out after ${this.timeoutMs} ms`
          : `failed: ${errorText(err)}`;
      throw new Error(`Model request to ${url} ${reason}`, { cause: err });
    }

    if (!response.ok) {
      const body = text.trim() === '' ? '' : `: ${excerpt(text.trim())}`;
      throw new Error(`Model endpoint ${url} responded ${response.status} ${response.statusText}${body}`);
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`Model endpoint ${url} returned invalid JSON: ${excerpt(text)}`);
    }
    const problem = featureCollectionProblem(parsed);
    if (problem !== undefined) throw new Error(`Model endpoint ${url} ${problem}`);
    return parsed as FeatureCollection;
  }
}
