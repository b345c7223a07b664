/**
 * The SageMaker request types as a user runs them: the built CLI in a subprocess, the repo's plugins,
 * no code of the user's, and the local SageMaker runtime + S3 reached through the SDK's standard
 * variables. Also `start` with them, every example of `start --help`, and that an `http` run never
 * loads the AWS SDK.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer } from '../../examples/model-server/server.mjs';
import { startSageMakerLocal, type SageMakerLocal } from '../../examples/sagemaker-local/server.mjs';
import type { Feature, FeatureCollection } from '../../src/shared/geojson.js';
import { writeGeoTiff } from '../helpers/geotiff.js';
import { start } from '../../src/cli/commands/resolve.js';
import { main } from '../../src/cli/main.js';
import { BIN, logLines, ROOT, runCli } from '../helpers/index.js';

let model: Awaited<ReturnType<typeof startModelServer>>;
let local: SageMakerLocal;
/** One project for every run here: its manifest cache stays warm. */
let cwd: string;
beforeAll(async () => {
  model = await startModelServer({ mode: 'blobs' });
  local = await startSageMakerLocal({ asyncDelayMs: 10 });
  cwd = await mkdtemp(path.join(await realpath(os.tmpdir()), 'osml-ext-cli-sm-'));
  await writeGeoTiff(path.join(cwd, 'scene.tif'), {
    width: 500,
    height: 400,
    bands: 3,
    squares: [
      { x: 40, y: 50, size: 12, value: 255 },
      { x: 220, y: 210, size: 14, value: 255 },
      { x: 470, y: 360, size: 10, value: 255 },
    ],
    georef: { kind: 'tiepoint', tiepoint: [0, 0, 0, 500000, 4650000, 0], pixelScale: [1, 1, 0], epsg: 32633 },
  });
  // A preload that records, at exit, which AWS SDK modules the process loaded.
  await writeFile(
    path.join(cwd, 'probe.cjs'),
    `process.on('exit', () => require('node:fs').writeFileSync(process.env.SDK_PROBE,
      JSON.stringify(Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')))));`,
  );
});
afterAll(async () => {
  await Promise.all([model.close(), local.close(), rm(cwd, { recursive: true, force: true })]);
});

/** An AWS secret no output may ever contain. */
const SECRET = 'never-print-this-secret-0123456789';
const PLUGINS = ['--plugins', path.join(ROOT, 'plugins')];
const TILING = ['--tile-size', '256', '--tile-overlap', '32'];

/** `run` in the project, with the SDK probe: the result, and the AWS SDK modules the process loaded. */
async function run(args: string[], env: Record<string, string>, name: string) {
  const probe = path.join(cwd, `${name}.sdk.json`);
  const result = await runCli(['run', 'scene.tif', '--out', `${name}.geojson`, ...TILING, ...PLUGINS, ...args], {
    cwd,
    env: { ...env, NODE_OPTIONS: `--require ${path.join(cwd, 'probe.cjs')}`, SDK_PROBE: probe },
  });
  expect(result.code, result.stderr).toBe(0);
  const features = (JSON.parse(await readFile(path.join(cwd, `${name}.geojson`), 'utf8')) as FeatureCollection)
    .features;
  return { ...result, features, sdk: JSON.parse(await readFile(probe, 'utf8')) as string[] };
}

const lonLat = (features: readonly Feature[]) =>
  features
    .map((f) => [f.properties?.['center_longitude'], f.properties?.['center_latitude']] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);

describe('osml-extensions run with the SageMaker request types', () => {
  it('REQUEST_TYPE=sm_endpoint, and async_sm_endpoint with --async-input, find what http finds', async () => {
    const env = { ...local.env, AWS_SECRET_ACCESS_KEY: SECRET };
    const [http, sync, queued] = await Promise.all([
      run(['--endpoint', model.invocationsUrl, '--json'], {}, 'http'),
      run(['--endpoint', 'detector', '--json'], { ...env, REQUEST_TYPE: 'sm_endpoint', LOG_LEVEL: 'debug' }, 'sync'),
      run(
        ['--endpoint', 'detector', '--async-input', 's3://tiles/cli/', '--json'],
        { ...env, REQUEST_TYPE: 'async_sm_endpoint' },
        'async',
      ),
    ]);
    expect(JSON.parse(http.stdout)).toMatchObject({ status: 'SUCCESS', requestType: 'http', features: 3 });
    expect(JSON.parse(sync.stdout)).toMatchObject({ status: 'SUCCESS', requestType: 'sm_endpoint', features: 3 });
    expect(JSON.parse(queued.stdout)).toMatchObject({ status: 'SUCCESS', requestType: 'async_sm_endpoint' });
    expect(lonLat(sync.features)).toEqual(lonLat(http.features));
    expect(lonLat(queued.features)).toEqual(lonLat(http.features));
    expect(local.keys('tiles').some((k) => k.startsWith('s3://tiles/cli/'))).toBe(true);

    // The SDK is loaded only when used: never by an http run.
    expect(http.sdk).toEqual([]);
    expect(sync.sdk.some((k) => k.includes('client-sagemaker-runtime'))).toBe(true);
    // No credential in any output, even at debug level; every stderr line is a log line (no SDK notice).
    for (const result of [sync, queued]) expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(logLines(sync.stderr)).toHaveLength(sync.stderr.trim().split('\n').length);
  });

  it('--async-input that is not an s3:// URL is a usage error', async () => {
    let stdout = '';
    const args = ['run', 'scene.tif', '--endpoint', 'e', '--async-input', '/tmp/in', '--cwd', cwd, '--json'];
    const code = await main(args, { stdout: (text) => void (stdout += text) });
    expect(code).toBe(2);
    expect((JSON.parse(stdout) as { error: { code: string } }).error.code).toBe('USAGE_INVALID');
  });
});

describe('osml-extensions start with the SageMaker request types', () => {
  it('REQUEST_TYPE=sm_endpoint (or async_sm_endpoint) start succeeds, and so does every example of `start --help`', async () => {
    // What `start --help` prints under "Examples:".
    const examples = start.examples.map((line) => line.split(/\s+/).slice(1));
    expect(examples).toContainEqual(['start', '--request-type', 'sm_endpoint']);
    const types = ['sm_endpoint', 'async_sm_endpoint'];
    const [results] = await Promise.all([
      Promise.all(types.map((type) => runCli(['start', '--json'], { env: { REQUEST_TYPE: type } }))),
      ...examples.map((args) => (args.includes('--watch') ? watchUntilReady(args) : once(args))),
    ]);
    results.forEach((result, i) => {
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ requestType: types[i], fallback: false });
      expect(logLines(result.stderr).find((l) => l['event'] === 'ready')).toMatchObject({ requestType: types[i] });
    });
    // Five CLI processes at once: on a busy 2-core machine that is more than the default 20 s.
  }, 60_000);
});

/** A command that ends by itself: exit 0. */
async function once(args: string[]): Promise<void> {
  const result = await runCli(args);
  expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
}

/** `--watch` runs until a signal: it must log `ready`, then stop with exit 0 on SIGTERM. */
async function watchUntilReady(args: string[]): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // Signal the moment `ready` is seen, as a supervisor would: the process must already be listening.
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (stderr.includes('"event":"ready"')) resolve();
    };
    child.stderr.on('data', check);
    child.on('exit', () => reject(new Error(`exited before ready:\n${stderr}`)));
    check();
  });
  child.kill('SIGTERM');
  expect(await exited, stderr).toBe(0);
}
