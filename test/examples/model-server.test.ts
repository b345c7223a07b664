/**
 * The example model server (examples/model-server/server.mjs): the SageMaker inference container contract of
 * OSML models, a bright-blob detector, a centre-box model, and injected faults.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidImageError,
  findBlobs,
  handleInvocation,
  sniffImageFormat,
  startModelServer,
  type ModelFeatureCollection,
  type ModelServer,
  type ModelServerOptions,
} from '../../examples/model-server/server.mjs';

const SERVER = fileURLToPath(new URL('../../examples/model-server/server.mjs', import.meta.url));

interface Square {
  x: number;
  y: number;
  w: number;
  h: number;
  /** grey level, or an RGB triple; default white */
  colour?: number | [number, number, number];
}

/** A dark RGB tile with bright squares planted (clipped at the tile edge). */
async function tile(format: 'png' | 'jpeg' | 'tiff', squares: Square[], width = 512, height = 512): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3, 10);
  for (const { x, y, w, h, colour = 255 } of squares) {
    const [r, g, b] = typeof colour === 'number' ? [colour, colour, colour] : colour;
    for (let yy = Math.max(0, y); yy < Math.min(height, y + h); yy++) {
      for (let xx = Math.max(0, x); xx < Math.min(width, x + w); xx++) {
        const p = (yy * width + xx) * 3;
        raw[p] = r;
        raw[p + 1] = g;
        raw[p + 2] = b;
      }
    }
  }
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  if (format === 'png') return img.png().toBuffer();
  if (format === 'jpeg') return img.jpeg({ quality: 95 }).toBuffer();
  return img.tiff().toBuffer();
}

const bboxes = (fc: ModelFeatureCollection): number[][] =>
  fc.features.map((f) => f.properties.imageBBox).sort((a, b) => a[1] - b[1] || a[0] - b[0]);

const servers: ModelServer[] = [];
async function start(options: ModelServerOptions = {}): Promise<ModelServer> {
  const server = await startModelServer({ port: 0, ...options });
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const post = (server: ModelServer, body: Uint8Array, contentType = 'image/png'): Promise<Response> =>
  fetch(server.invocationsUrl, { method: 'POST', body, headers: { 'Content-Type': contentType } });

describe('blobs model (handleInvocation)', () => {
  it('reports a planted square in a PNG with an exact pixel-edge bbox, in OSML model-output format', async () => {
    const fc = await handleInvocation(await tile('png', [{ x: 100, y: 100, w: 20, h: 20 }]));
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features).toHaveLength(1);
    const [f] = fc.features;
    expect(f).toMatchObject({
      type: 'Feature',
      geometry: null,
      properties: {
        imageBBox: [100, 100, 120, 120],
        imageGeometry: {
          type: 'Polygon',
          coordinates: [
            [
              [100, 100],
              [120, 100],
              [120, 120],
              [100, 120],
              [100, 100],
            ],
          ],
        },
        featureClasses: [{ iri: 'bright_blob', score: 1 }],
      },
    });
    expect(typeof f?.id).toBe('string');
  });

  it('reads TIFF exactly and JPEG within 2 px', async () => {
    const squares = [{ x: 100, y: 100, w: 20, h: 20 }];
    expect(bboxes(await handleInvocation(await tile('tiff', squares)))).toEqual([[100, 100, 120, 120]]);
    const jpeg = bboxes(await handleInvocation(await tile('jpeg', squares)));
    expect(jpeg).toHaveLength(1);
    jpeg[0]?.forEach((v, i) => expect(Math.abs(v - [100, 100, 120, 120][i]!)).toBeLessThanOrEqual(2));
  });

  it('reports separate blobs as separate features, and a blob touching the edge clipped to the tile', async () => {
    const png = await tile('png', [
      { x: 10, y: 40, w: 5, h: 8 },
      { x: 300, y: 200, w: 40, h: 12 },
      { x: 500, y: -5, w: 30, h: 15 }, // top-right corner
      { x: -3, y: 490, w: 10, h: 30 }, // bottom-left corner
    ]);
    expect(bboxes(await handleInvocation(png))).toEqual([
      [500, 0, 512, 10],
      [10, 40, 15, 48],
      [300, 200, 340, 212],
      [0, 490, 7, 512],
    ]);
  });

  it('uses the max over colour channels, the threshold and minPixels', async () => {
    const png = await tile('png', [
      { x: 50, y: 50, w: 10, h: 10, colour: [255, 0, 0] }, // pure red: bright
      { x: 150, y: 50, w: 10, h: 10, colour: 150 }, // dim: below 200
      { x: 250, y: 50, w: 1, h: 3 }, // 3 px: below minPixels 4
      { x: 350, y: 50, w: 2, h: 2, colour: 204 }, // exactly 4 px, at >= threshold
    ]);
    const fc = await handleInvocation(png);
    expect(bboxes(fc)).toEqual([
      [50, 50, 60, 60],
      [350, 50, 352, 52],
    ]);
    expect(fc.features.map((f) => f.properties.featureClasses[0]?.score).sort()).toEqual([0.8, 1]);
    expect(bboxes(await handleInvocation(png, { threshold: 100, minPixels: 1 }))).toHaveLength(4);
    expect(bboxes(await handleInvocation(png, { minPixels: 5 }))).toEqual([[50, 50, 60, 60]]);
  });

  it('labels an irregular shape as one component and gives a deterministic score', async () => {
    // An L and a U shape: the U's arms only join at the bottom (union of runs found on later rows).
    const squares: Square[] = [
      { x: 20, y: 20, w: 4, h: 30, colour: 250 },
      { x: 20, y: 46, w: 25, h: 4, colour: 250 },
      { x: 100, y: 20, w: 4, h: 30, colour: 220 },
      { x: 130, y: 20, w: 4, h: 30, colour: 220 },
      { x: 100, y: 46, w: 34, h: 4, colour: 220 },
    ];
    const png = await tile('png', squares);
    const a = await handleInvocation(png);
    expect(bboxes(a)).toEqual([
      [20, 20, 45, 50],
      [100, 20, 134, 50],
    ]);
    const b = await handleInvocation(png);
    expect(b.features.map((f) => f.properties.featureClasses)).toEqual(
      a.features.map((f) => f.properties.featureClasses),
    );
    expect(a.features.map((f) => f.properties.featureClasses[0]?.score)).toEqual([0.98, 0.863]);
  });

  it('findBlobs: 4- vs 8-connectivity, greyscale and alpha inputs', () => {
    // Two 2x2 squares touching only at a corner.
    const w = 8;
    const grey = new Uint8Array(w * w);
    for (const [x, y] of [
      [1, 1],
      [2, 1],
      [1, 2],
      [2, 2],
      [3, 3],
      [4, 3],
      [3, 4],
      [4, 4],
    ] as const)
      grey[y * w + x] = 255;
    expect(findBlobs(grey, w, w, 1).map((b) => [b.minX, b.minY, b.maxX, b.maxY, b.pixels])).toEqual([
      [1, 1, 3, 3, 4],
      [3, 3, 5, 5, 4],
    ]);
    expect(
      findBlobs(grey, w, w, 1, { connectivity: 8 }).map((b) => [b.minX, b.minY, b.maxX, b.maxY, b.pixels]),
    ).toEqual([[1, 1, 5, 5, 8]]);
    // Grey + alpha: an opaque-but-dark pixel is not bright because of its alpha.
    const ga = new Uint8Array(w * w * 2);
    for (let i = 0; i < w * w; i++) ga[i * 2 + 1] = 255;
    expect(findBlobs(ga, w, w, 2, { minPixels: 1 })).toEqual([]);
    expect(() => findBlobs(new Uint8Array(3), 2, 2, 1)).toThrow(RangeError);
  });

  it('decodes greyscale and RGBA PNGs', async () => {
    const w = 64;
    const grey = Buffer.alloc(w * w, 0);
    for (let y = 10; y < 20; y++) grey.fill(230, y * w + 30, y * w + 40);
    const greyPng = await sharp(grey, { raw: { width: w, height: w, channels: 1 } })
      .png()
      .toBuffer();
    expect(bboxes(await handleInvocation(greyPng))).toEqual([[30, 10, 40, 20]]);
    const rgba = await sharp({
      create: { width: w, height: w, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } },
    })
      .composite([
        { input: { create: { width: 5, height: 6, channels: 4, background: '#ffffffff' } }, left: 7, top: 9 },
      ])
      .png()
      .toBuffer();
    expect(bboxes(await handleInvocation(rgba))).toEqual([[7, 9, 12, 15]]);
  });

  it('center mode: one box of 10% of the tile size, centred, score 1', async () => {
    const fc = await handleInvocation(await tile('png', [], 512, 256), { mode: 'center' });
    expect(fc.features).toHaveLength(1);
    expect(fc.features[0]?.properties.imageBBox).toEqual([230.4, 115.2, 281.6, 140.8]);
    expect(fc.features[0]?.properties.featureClasses).toEqual([{ iri: 'center', score: 1 }]);
  });

  it('rejects bodies that are not an image that decodes', async () => {
    await expect(handleInvocation(Buffer.from('hello world'))).rejects.toBeInstanceOf(InvalidImageError);
    await expect(handleInvocation(Buffer.alloc(0))).rejects.toBeInstanceOf(InvalidImageError);
    const png = await tile('png', [{ x: 1, y: 1, w: 5, h: 5 }]);
    await expect(handleInvocation(png.subarray(0, 60))).rejects.toBeInstanceOf(InvalidImageError);
    await expect(
      handleInvocation(Buffer.from('\x89PNG\r\n\x1a\nxx', 'latin1'), { mode: 'center' }),
    ).rejects.toBeInstanceOf(InvalidImageError);
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } })
      .gif()
      .toBuffer();
    await expect(handleInvocation(gif)).rejects.toThrow(/not a PNG, JPEG or TIFF/);
    expect(sniffImageFormat(Buffer.from('MM\0*'))).toBe('tiff');
  });
});

describe('model server (HTTP)', () => {
  it('answers GET /ping, 404 and 405', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.invocationsUrl).toBe(`${server.url}/invocations`);
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(server.invocationsUrl)).status).toBe(405);
    expect(server.calls).toBe(0);
  });

  it('POST /invocations answers application/geo+json, sniffing the body whatever the Content-Type', async () => {
    const server = await start();
    const png = await tile('png', [{ x: 100, y: 100, w: 20, h: 20 }]);
    for (const type of ['image/png', 'image/jpeg', 'application/octet-stream']) {
      const res = await post(server, png, type);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/geo+json');
      expect(bboxes((await res.json()) as ModelFeatureCollection)).toEqual([[100, 100, 120, 120]]);
    }
    const tiff = await post(server, await tile('tiff', [{ x: 0, y: 0, w: 8, h: 8 }]), 'image/tiff');
    expect(bboxes((await tiff.json()) as ModelFeatureCollection)).toEqual([[0, 0, 8, 8]]);
    expect(server.calls).toBe(4);
  });

  it('center mode over HTTP', async () => {
    const server = await start({ mode: 'center' });
    const res = await post(server, await tile('jpeg', [], 100, 100), 'image/jpeg');
    expect(bboxes((await res.json()) as ModelFeatureCollection)).toEqual([[45, 45, 55, 55]]);
  });

  it('400 with a JSON error for garbage, 413 over maxBodyBytes', async () => {
    const server = await start({ maxBodyBytes: 10_000 });
    const bad = await post(server, Buffer.from('definitely not an image'));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/PNG, JPEG or TIFF/);
    const big = await post(server, new Uint8Array(200_000));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toMatch(/over the limit/);
    // Chunked upload with no Content-Length.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(5_000));
        c.close();
      },
    });
    const chunked = await fetch(server.invocationsUrl, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await post(server, await tile('png', [], 32, 32))).status).toBe(200);
  });

  describe('faults', () => {
    it('error500', async () => {
      const server = await start({ fault: 'error500' });
      const png = await tile('png', []);
      expect((await post(server, png)).status).toBe(500);
      expect((await post(server, png)).status).toBe(500);
      expect(server.calls).toBe(2);
    });

    it('not-json', async () => {
      const server = await start({ fault: 'not-json' });
      const res = await post(server, await tile('png', []));
      expect(res.status).toBe(200);
      await expect(res.json()).rejects.toThrow();
    });

    it('wrong-shape', async () => {
      const server = await start({ fault: 'wrong-shape' });
      const res = await post(server, await tile('png', []));
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body['type']).not.toBe('FeatureCollection');
      expect(body['features']).toBeUndefined();
    });

    it('throttle: 429 for the first faultCalls calls, then normal', async () => {
      const server = await start({ fault: 'throttle', faultCalls: 2 });
      const png = await tile('png', [{ x: 5, y: 5, w: 5, h: 5 }]);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(server, png)).status);
      expect(statuses).toEqual([429, 429, 200, 200]);
    });

    it('flaky: 500 on the first call for each tile, ok on the retry', async () => {
      const server = await start({ fault: 'flaky' });
      const a = await tile('png', [{ x: 5, y: 5, w: 5, h: 5 }]);
      const b = await tile('png', [{ x: 50, y: 5, w: 5, h: 5 }]);
      const statuses = [];
      for (const body of [a, a, b, a, b]) statuses.push((await post(server, body)).status);
      expect(statuses).toEqual([500, 200, 500, 200, 200]);
    });

    it('hang: never answers, and close() ends the hanging request', async () => {
      const server = await startModelServer({ port: 0, fault: 'hang' });
      const pending = post(server, await tile('png', []));
      const outcome = pending.then(
        () => 'answered',
        () => 'failed',
      );
      const started = Date.now();
      while (server.calls === 0 && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 10));
      expect(server.calls).toBe(1);
      expect(await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still hanging'), 200))])).toBe(
        'still hanging',
      );
      await server.close();
      expect(await outcome).toBe('failed');
      await server.close(); // idempotent
      await expect(fetch(`${server.url}/ping`)).rejects.toThrow();
    });
  });

  it('runs from the command line, logs its URL on stderr and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, [SERVER, '--port', '0', '--mode', 'center'], {
      cwd: path.dirname(SERVER),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(err);
          if (m?.[1]) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      expect((await fetch(`${url}/ping`)).status).toBe(200);
      const exited = new Promise((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
