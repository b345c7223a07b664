#!/usr/bin/env node
/**
 * `npm run bench:sagemaker`: the run benchmark's SageMaker leg (see BENCHMARKS.md). The same image and
 * the same model, reached two ways, each run as a user runs it (the built CLI, one process per run):
 *   http         `osml-extensions run IMAGE --endpoint http://…/invocations` → examples/model-server
 *   sm_endpoint  `REQUEST_TYPE=sm_endpoint osml-extensions run IMAGE --endpoint NAME` → the AWS SDK →
 *                examples/sagemaker-local (the SageMaker REST protocol, the same handleInvocation)
 * Both model servers run in their own processes. After one warm-up pair, `--runs` pairs alternate
 * http and sm_endpoint; the report gives the run's own time (the summary's durationMs: read, tile,
 * encode, invoke, dedupe, write) and the whole process's wall time, median [min–max], and the
 * sm_endpoint/http ratio of the medians. Every run must end SUCCESS with the same features.
 *
 * Options: --runs N (BENCH_RUNS, default 5), --image FILE (default examples/sample/sample.tif),
 * --tile-size N (default 512).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmtMs, fmtRatio, markdownTable, summarize } from './stats.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const BIN = path.join(root, 'dist', 'bin.js');
const { values } = parseArgs({
  options: { runs: { type: 'string' }, image: { type: 'string' }, 'tile-size': { type: 'string' } },
});
const runs = Number(values.runs ?? process.env.BENCH_RUNS ?? 5);
const image = path.resolve(values.image ?? path.join(root, 'examples', 'sample', 'sample.tif'));
const tileSize = values['tile-size'] ?? '512';
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number >= 1, received ${values.runs}`);

/** Start a server script; resolves with its stderr once `ready(stderr)` finds what it needs. */
function server(script, args, ready) {
  const child = spawn(process.execPath, [path.join(root, script), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const found = ready(stderr);
      if (found) resolve({ child, found });
    });
    child.on('exit', (code) => reject(new Error(`${script} exited ${code}: ${stderr}`)));
  });
}

const env = { ...process.env };
for (const key of ['REQUEST_TYPE', 'LOG_LEVEL', 'NODE_OPTIONS']) delete env[key];

const model = await server(
  'examples/model-server/server.mjs',
  ['--port', '0'],
  (s) => /listening on (\S+)/.exec(s)?.[1],
);
const local = await server('examples/sagemaker-local/server.mjs', ['--port', '0', '--s3-port', '0'], (s) =>
  s.includes('AWS_SECRET_ACCESS_KEY')
    ? Object.fromEntries([...s.matchAll(/export (\w+)=(\S+)/g)].map((m) => [m[1], m[2]]))
    : undefined,
);
const cwd = mkdtempSync(path.join(os.tmpdir(), 'osml-bench-sm-'));

/** One run through the CLI: its summary and wall time. */
function run(kind) {
  const sm = kind === 'sm_endpoint';
  const args = [BIN, 'run', image, '--endpoint', sm ? 'bench-endpoint' : `${model.found}/invocations`];
  args.push('--out', `${kind}.geojson`, '--tile-size', tileSize, '--json', '--log-level', 'silent');
  args.push('--plugins', path.join(root, 'plugins'));
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: sm ? { ...env, ...local.found, REQUEST_TYPE: 'sm_endpoint' } : env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      let summary;
      try {
        summary = JSON.parse(stdout);
      } catch {
        return reject(new Error(`${kind}: exit ${code}, not a summary: ${stdout}${stderr}`));
      }
      if (code !== 0 || summary.status !== 'SUCCESS') return reject(new Error(`${kind}: ${stdout}${stderr}`));
      resolve({ wallMs, runMs: summary.durationMs, tiles: summary.tiles, features: summary.features });
    }),
  );
}

const lonLat = (kind) =>
  JSON.stringify(
    JSON.parse(readFileSync(path.join(cwd, `${kind}.geojson`), 'utf8'))
      .features.map((f) => [f.properties.center_longitude, f.properties.center_latitude])
      .sort(),
  );

const results = { http: [], sm_endpoint: [] };
try {
  process.stderr.write(
    `bench: ${path.relative(process.cwd(), image)}, tiles of ${tileSize}, 1 warm-up + ${runs} runs\n`,
  );
  for (let i = 0; i <= runs; i++) {
    for (const kind of ['http', 'sm_endpoint']) {
      const result = await run(kind);
      if (i > 0) results[kind].push(result);
    }
    if (lonLat('http') !== lonLat('sm_endpoint')) throw new Error('sm_endpoint found other features than http');
    process.stderr.write(i === 0 ? 'warm-up done\n' : `run ${i}/${runs}\n`);
  }
} finally {
  model.child.kill();
  local.child.kill();
  rmSync(cwd, { recursive: true, force: true });
}

const stats = (kind, key) => summarize(results[kind].map((r) => r[key]));
const [first] = results.http;
console.log(`\n${first.tiles} tiles, ${first.features} features (the same lon/lat on both paths)\n`);
console.log(
  markdownTable(
    ['path', 'run ms (durationMs)', 'process wall ms'],
    [
      ['http', fmtMs(stats('http', 'runMs')), fmtMs(stats('http', 'wallMs'))],
      ['sm_endpoint', fmtMs(stats('sm_endpoint', 'runMs')), fmtMs(stats('sm_endpoint', 'wallMs'))],
      [
        'sm_endpoint / http',
        fmtRatio(stats('sm_endpoint', 'runMs').median / stats('http', 'runMs').median),
        fmtRatio(stats('sm_endpoint', 'wallMs').median / stats('http', 'wallMs').median),
      ],
    ],
  ),
);
