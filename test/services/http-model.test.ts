import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isExtensionError, type ErrorCode, type ExtensionError } from '../../src/shared/errors.js';
import { HttpModelInvoker } from '../../src/services/http-model.js';
import type { TileRequest } from '../../src/services/types.js';

/** One request as the server saw it. */
interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, call: number) => void;

const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A real model server on 127.0.0.1; `handler` answers each request (its body already read). */
async function serve(handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: performance.now(),
      });
      handler(req, res, received.length);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/invocations`, received };
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res
    .writeHead(status, { 'content-type': 'application/json', ...headers })
    .end(typeof body === 'string' ? body : JSON.stringify(body));
};

const COLLECTION = {
  type: 'FeatureCollection',
  features: [{ type: 'Feature', geometry: null, properties: { imageBBox: [1, 2, 3, 4] } }],
};
const TILE_NAME = 'tile 3/12 (x=974 y=0 1024x1024)';

const tile = (endpoint: string, patch: Partial<TileRequest> = {}): TileRequest => ({
  imageId: 'job-1:scene.tif',
  endpoint,
  bounds: { x: 974, y: 0, width: 1024, height: 1024 },
  name: TILE_NAME,
  body: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x10]),
  contentType: 'image/png',
  ...patch,
});

/** Small waits so retries take milliseconds. */
const fast = { backoffMs: 5, maxBackoffMs: 20, timeoutMs: 2000 };

async function rejectionOf(promise: Promise<unknown>, code: ErrorCode): Promise<ExtensionError> {
  const thrown = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isExtensionError(thrown), `expected an ExtensionError, got ${String(thrown)}`).toBe(true);
  expect((thrown as ExtensionError).code).toBe(code);
  return thrown as ExtensionError;
}

describe('HttpModelInvoker: the request', () => {
  it("sends the tile's bytes unchanged with its Content-Type, accepting GeoJSON", async () => {
    const { url, received } = await serve((_req, res) => json(res, 200, COLLECTION));
    const t = tile(url);
    await new HttpModelInvoker(fast).invoke(t);
    expect(received).toHaveLength(1);
    const [got] = received;
    expect(got?.method).toBe('POST');
    expect(got?.url).toBe('/invocations');
    expect(got?.headers['content-type']).toBe('image/png');
    expect(got?.headers['accept']).toContain('application/geo+json');
    expect([...(got?.body ?? [])]).toEqual([...(t.body ?? [])]);
  });

  it('sends only the bytes of a view into a larger buffer', async () => {
    const { url, received } = await serve((_req, res) => json(res, 200, COLLECTION));
    const backing = new Uint8Array([9, 9, 9, 1, 2, 3, 4, 9, 9]);
    await new HttpModelInvoker(fast).invoke(tile(url, { body: backing.subarray(3, 7), contentType: 'image/jpeg' }));
    expect([...(received[0]?.body ?? [])]).toEqual([1, 2, 3, 4]);
    expect(received[0]?.headers['content-type']).toBe('image/jpeg');
  });

  it('sends the CustomAttributes parameter as the SageMaker custom-attributes header', async () => {
    const { url, received } = await serve((_req, res) => json(res, 200, COLLECTION));
    await new HttpModelInvoker(fast).invoke(
      tile(url, { parameters: { CustomAttributes: 'threshold=0.5', TargetVariant: 'v2' } }),
    );
    expect(received[0]?.headers['x-amzn-sagemaker-custom-attributes']).toBe('threshold=0.5');
  });

  it('sends no custom-attributes header without the parameter', async () => {
    const { url, received } = await serve((_req, res) => json(res, 200, COLLECTION));
    await new HttpModelInvoker(fast).invoke(tile(url));
    expect(received[0]?.headers).not.toHaveProperty('x-amzn-sagemaker-custom-attributes');
  });

  it('sends the legacy {imageId, bounds} JSON when the tile has no body', async () => {
    const { url, received } = await serve((_req, res) => json(res, 200, COLLECTION));
    const t = tile(url);
    delete t.body;
    delete t.contentType;
    await new HttpModelInvoker(fast).invoke(t);
    expect(received[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received[0]?.body.toString('utf8') ?? '')).toEqual({
      imageId: 'job-1:scene.tif',
      bounds: { x: 974, y: 0, width: 1024, height: 1024 },
    });
  });

  it('returns the JSON answer parsed', async () => {
    const { url } = await serve((_req, res) => json(res, 200, COLLECTION, { 'content-type': 'application/geo+json' }));
    await expect(new HttpModelInvoker(fast).invoke(tile(url))).resolves.toEqual(COLLECTION);
  });
});

describe('HttpModelInvoker: retries and failures', () => {
  it('retries a 429 and succeeds on the next attempt', async () => {
    const { url, received } = await serve((_req, res, call) =>
      call === 1 ? json(res, 429, { message: 'slow down' }) : json(res, 200, COLLECTION),
    );
    await expect(new HttpModelInvoker(fast).invoke(tile(url))).resolves.toEqual(COLLECTION);
    expect(received).toHaveLength(2);
  });

  it('waits as long as Retry-After asks, capped at maxBackoffMs', async () => {
    const { url, received } = await serve((_req, res, call) =>
      call === 1 ? json(res, 429, '', { 'retry-after': '1' }) : json(res, 200, COLLECTION),
    );
    await new HttpModelInvoker({ backoffMs: 1, maxBackoffMs: 150, timeoutMs: 2000 }).invoke(tile(url));
    expect(received).toHaveLength(2);
    // Without Retry-After the wait would be about 1 ms; with it uncapped, 1000 ms.
    const gap = (received[1]?.at ?? 0) - (received[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(120);
    expect(gap).toBeLessThan(900);
  });

  it('retries 5xx answers, then fails with MODEL_FAILED naming the tile, the endpoint and the attempts', async () => {
    const { url, received } = await serve((_req, res) => json(res, 503, 'overloaded'));
    const error = await rejectionOf(new HttpModelInvoker({ ...fast, retries: 2 }).invoke(tile(url)), 'MODEL_FAILED');
    expect(received).toHaveLength(3);
    expect(error.message).toContain(TILE_NAME);
    expect(error.message).toContain(url);
    expect((error as ExtensionError<'MODEL_FAILED'>).params.reason).toMatch(/\b3\b/);
    expect(error.message).toContain('503');
  });

  it('makes exactly one attempt with retries: 0', async () => {
    const { url, received } = await serve((_req, res) => json(res, 500, 'boom'));
    await rejectionOf(new HttpModelInvoker({ ...fast, retries: 0 }).invoke(tile(url)), 'MODEL_FAILED');
    expect(received).toHaveLength(1);
  });

  it('fails a 400 at once, without retrying', async () => {
    const { url, received } = await serve((_req, res) => json(res, 400, { message: 'bad tile' }));
    const error = await rejectionOf(new HttpModelInvoker({ ...fast, retries: 3 }).invoke(tile(url)), 'MODEL_FAILED');
    expect(received).toHaveLength(1);
    expect(error.message).toContain(TILE_NAME);
    expect(error.message).toContain('400');
  });

  it('gives up on a model that never answers', async () => {
    const { url, received } = await serve(() => {
      // Never answers.
    });
    const error = await rejectionOf(
      new HttpModelInvoker({ timeoutMs: 200, retries: 1, backoffMs: 5 }).invoke(tile(url)),
      'MODEL_FAILED',
    );
    expect(received).toHaveLength(2);
    expect(error.message).toContain(TILE_NAME);
    expect(error.message).toContain(url);
  });

  it('fails with MODEL_FAILED when the connection is refused, after retrying', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/invocations`;
    const error = await rejectionOf(new HttpModelInvoker({ ...fast, retries: 1 }).invoke(tile(url)), 'MODEL_FAILED');
    expect(error.message).toContain(url);
    expect(error.message).toContain(TILE_NAME);
  });

  it('names an unnamed tile by its position', async () => {
    const { url } = await serve((_req, res) => json(res, 400, ''));
    const t = tile(url);
    delete t.name;
    const error = await rejectionOf(new HttpModelInvoker(fast).invoke(t), 'MODEL_FAILED');
    expect(error.message).toMatch(/x=974 y=0/);
  });

  it('fails a 200 whose body is not JSON with MODEL_OUTPUT_INVALID, without retrying', async () => {
    const { url, received } = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops</html>'),
    );
    const error = await rejectionOf(new HttpModelInvoker(fast).invoke(tile(url)), 'MODEL_OUTPUT_INVALID');
    expect(received).toHaveLength(1);
    expect(error.message).toContain(TILE_NAME);
    expect(error.message).toContain(url);
  });
});

describe('HttpModelInvoker: options', () => {
  it.each([
    ['timeoutMs 0', { timeoutMs: 0 }],
    ['timeoutMs -1', { timeoutMs: -1 }],
    ['timeoutMs NaN', { timeoutMs: Number.NaN }],
    ['retries -1', { retries: -1 }],
    ['retries Infinity', { retries: Number.POSITIVE_INFINITY }],
    ['backoffMs -5', { backoffMs: -5 }],
    ['maxBackoffMs -1', { maxBackoffMs: -1 }],
  ])('refuses %s with a RangeError naming the option', (_label, options) => {
    const name = Object.keys(options)[0] ?? '';
    expect(() => new HttpModelInvoker(options)).toThrow(RangeError);
    expect(() => new HttpModelInvoker(options)).toThrow(name);
  });

  it('accepts zero retries and zero backoff', () => {
    expect(() => new HttpModelInvoker({ retries: 0, backoffMs: 0, maxBackoffMs: 0 })).not.toThrow();
  });

  it('uses the fetch it is given, called unbound', async () => {
    const calls: string[] = [];
    function fakeFetch(this: unknown, input: string | URL | Request): Promise<Response> {
      expect(this).toBeUndefined();
      calls.push(String(input));
      return Promise.resolve(new Response(JSON.stringify(COLLECTION), { status: 200 }));
    }
    await expect(
      new HttpModelInvoker({ ...fast, fetch: fakeFetch as typeof fetch }).invoke(tile('http://model.invalid/x')),
    ).resolves.toEqual(COLLECTION);
    expect(calls).toEqual(['http://model.invalid/x']);
  });
});
