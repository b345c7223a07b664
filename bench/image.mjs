/**
 * `npm run bench:run` (`node bench/run.mjs run`): the run benchmark (issue #10 item 14; see
 * BENCHMARKS.md). A synthetic tiled RGB GeoTIFF per size, cut in tiles of 512 overlapping by 32,
 * concurrency 8; each run is a whole process, and the variants alternate within every repetition:
 *
 *   floor        bench/image-floor.mjs: sharp extracting and PNG-encoding the same tiles, nothing else
 *   full         `osml-extensions run IMAGE --endpoint <null model>` (the built CLI), against
 *                bench/null-model.mjs in its own process: reads each body, answers an empty
 *                FeatureCollection without decoding it (a zero-latency model)
 *   http-center  \ the sync SageMaker comparison (issue #11), first size only, when the build has
 *   sm-center    / it: the example model (`--mode center`) over `http`, and the same model behind
 *                examples/sagemaker-local reached as `sm_endpoint` through the AWS SDK
 *
 * Throughput is tiles per second of the work: the floor's own timer (open to last tile) and the
 * run summary's `durationMs` (open, tile, invoke, de-duplicate, write; the boot excluded). Peak RSS
 * and CPU come from bench/rss-reporter.mjs in each child. Every run is validated (status, tile
 * count, the model's call count), warm-ups included.
 *
 * Options:
 *   --sizes 8192,16384   image sides                                   [8192,16384]
 *   --runs N             timed repetitions after 1 warm-up             [5]
 *   --quick              sizes 8192, 3 runs
 *   --concurrency N      tiles in flight, floor and run alike          [8]
 *   --content flat|noise synthetic pixels: one colour, or Gaussian noise (incompressible) [flat]
 *   --no-sagemaker       skip the http-center / sm-center legs
 *   --prototypes         add proto-http and proto-both at the first size: runImage with the fixes
 *                        BENCHMARKS.md suggests, swapped in from outside (bench/image-prototype.mjs)
 *   --profile            after the runs, profile one full run (node --cpu-prof) and print the top costs
 *   --image-cache DIR    where generated images are kept   [node_modules/.cache/osml-extensions-bench]
 *   --out FILE           raw results                                   [out/bench-run.json]
 *   --timeout SECONDS    per child process                             [600]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  cleanEnv,
  cleanupOnExit,
  describeMachine,
  killChildren,
  loadavg,
  machine,
  runTimed,
  startServer,
} from './child.mjs';
import { formatProfile, summarizeProfile } from './profile.mjs';
import { snapshotBuild } from './snapshot.mjs';
import { fmtMb, fmtMs, fmtRatio, markdownTable, summarize } from './stats.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.dirname(benchDir);
const REPORTER = pathToFileURL(path.join(benchDir, 'rss-reporter.mjs')).href;
const USAGE = `Usage: node bench/run.mjs run [--sizes 8192,16384] [--runs 5] [--quick] [--concurrency 8] [--content flat|noise] [--no-sagemaker] [--prototypes] [--profile] [--image-cache DIR] [--out FILE] [--timeout 600]`;

/** Targets of issue #10 item 14. */
const TARGETS = { throughput: 0.75, rssMb: 300, rssGrowthMb: 50 };
const TILE_SIZE = 512;
const TILE_OVERLAP = 32;
const REGION_SIZE = 10240; // the run default

function options(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        sizes: { type: 'string' },
        runs: { type: 'string' },
        quick: { type: 'boolean' },
        concurrency: { type: 'string' },
        content: { type: 'string' },
        'no-sagemaker': { type: 'boolean' },
        prototypes: { type: 'boolean' },
        profile: { type: 'boolean' },
        'image-cache': { type: 'string' },
        out: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`bench run: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const fail = (text) => {
    console.error(`bench run: ${text}\n${USAGE}`);
    process.exit(2);
  };
  const quick = parsed.quick === true;
  const sizesText = parsed.sizes ?? (quick ? '8192' : '8192,16384');
  const sizes = [...new Set(sizesText.split(',').map((s) => Number(s.trim())))].sort((a, b) => a - b);
  if (sizes.some((n) => !Number.isInteger(n) || n < TILE_SIZE || n > 65536))
    fail(`--sizes must be integers from ${TILE_SIZE} to 65536, received "${sizesText}"`);
  const runs = Number(parsed.runs ?? (quick ? 3 : 5));
  if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer, received "${parsed.runs}"`);
  const concurrency = Number(parsed.concurrency ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1) fail(`--concurrency must be a positive integer`);
  const content = parsed.content ?? 'flat';
  if (content !== 'flat' && content !== 'noise') fail(`--content must be flat or noise, received "${content}"`);
  return {
    sizes,
    runs,
    quick,
    concurrency,
    content,
    sagemaker: parsed['no-sagemaker'] !== true,
    prototypes: parsed.prototypes === true,
    profile: parsed.profile === true,
    imageCache: path.resolve(
      parsed['image-cache'] ?? path.join(pkgDir, 'node_modules', '.cache', 'osml-extensions-bench'),
    ),
    out: path.resolve(parsed.out ?? path.join(pkgDir, 'out', 'bench-run.json')),
    timeoutMs: Number(parsed.timeout ?? 600) * 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// The image

/** Is GDAL's gdal_edit.py here? It adds georeferencing in place, cheaply; without it the image has none. */
function haveGdalEdit() {
  const probe = spawnSync('gdal_edit.py', ['--help'], { stdio: 'ignore' });
  return probe.error === undefined;
}

/**
 * A synthetic tiled RGB TIFF of `size`², generated once into the cache dir (kept between runs,
 * never committed): 512 × 512 tiles, DEFLATE, written by libvips through sharp. With gdal_edit.py
 * it is a GeoTIFF (UTM 33N, 0.5 m pixels); without, it has no georeferencing (the run warns once).
 */
async function syntheticImage(size, content, cacheDir, log) {
  const geo = haveGdalEdit();
  const file = path.join(cacheDir, `synthetic-rgb-${content}-${size}-t512-deflate${geo ? '-utm33n' : ''}.tif`);
  if (existsSync(file)) return { file, size, content, georeferenced: geo, generatedMs: 0 };
  mkdirSync(cacheDir, { recursive: true });
  const started = performance.now();
  const { default: sharp } = await import('sharp');
  const create = { width: size, height: size, channels: 3, background: { r: 40, g: 90, b: 140 } };
  if (content === 'noise') create.noise = { type: 'gaussian', mean: 128, sigma: 40 };
  const temp = `${file}.${process.pid}.tmp`;
  await sharp({ create, limitInputPixels: false })
    .tiff({ tile: true, tileWidth: 512, tileHeight: 512, compression: 'deflate' })
    .toFile(temp);
  if (geo) {
    const [x0, y0] = [500000, 4600000];
    const edit = spawnSync(
      'gdal_edit.py',
      ['-a_srs', 'EPSG:32633', '-a_ullr', x0, y0, x0 + size / 2, y0 - size / 2, temp].map(String),
      { encoding: 'utf8' },
    );
    if (edit.status !== 0) throw new Error(`gdal_edit.py failed on ${temp}: ${edit.stderr}`);
  }
  renameSync(temp, file);
  const generatedMs = Math.round(performance.now() - started);
  log(`bench run: generated ${path.basename(file)} in ${generatedMs} ms`);
  return { file, size, content, georeferenced: geo, generatedMs };
}

// ---------------------------------------------------------------------------------------------
// Validation

class InvalidRun extends Error {}

function invalid(variant, size, result, problem) {
  const cut = (text, max) => (text.length > max ? `…${text.slice(-max)}` : text);
  return new InvalidRun(
    [
      `${variant} run at ${size}² is invalid: ${problem}`,
      `  exit code ${result.code}${result.signal ? `, signal ${result.signal}` : ''}${result.timedOut ? ' (timed out)' : ''}`,
      `  stdout: ${cut(result.stdout.trim(), 600) || '(empty)'}`,
      `  stderr: ${cut(result.stderr.trim(), 2000) || '(empty)'}`,
    ].join('\n'),
  );
}

function parseLastJson(text) {
  const lines = text.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** The floor printed its tile count, and it is the plan's. */
function checkFloor(result, size, tiles) {
  if (result.code !== 0) throw invalid('floor', size, result, 'non-zero exit');
  let doc;
  try {
    doc = parseLastJson(result.stdout);
  } catch {
    throw invalid('floor', size, result, 'stdout is not a JSON line');
  }
  if (doc.tiles !== tiles) throw invalid('floor', size, result, `expected ${tiles} tiles, got ${doc.tiles}`);
  if (result.usage === undefined) throw invalid('floor', size, result, 'no resource report from the preload');
  return { workMs: doc.workMs, bytes: doc.bytes };
}

/** A run ended SUCCESS with every tile, and (for the null model) the model saw each tile's bytes. */
function checkRun(variant, result, size, tiles, modelDelta) {
  if (result.code !== 0) throw invalid(variant, size, result, 'non-zero exit');
  let summary;
  try {
    summary = parseLastJson(result.stdout);
  } catch {
    throw invalid(variant, size, result, 'stdout is not one JSON summary');
  }
  if (summary.status !== 'SUCCESS') throw invalid(variant, size, result, `status ${summary.status}`);
  if (summary.tiles !== tiles) throw invalid(variant, size, result, `expected ${tiles} tiles, got ${summary.tiles}`);
  if (modelDelta !== undefined) {
    if (modelDelta.calls !== tiles)
      throw invalid(variant, size, result, `the model got ${modelDelta.calls} calls for ${tiles} tiles`);
    if (modelDelta.empty !== 0) throw invalid(variant, size, result, `${modelDelta.empty} calls had an empty body`);
  }
  if (result.usage === undefined) throw invalid(variant, size, result, 'no resource report from the preload');
  return { workMs: summary.durationMs, features: summary.features, bytes: modelDelta?.bytes };
}

// ---------------------------------------------------------------------------------------------
// The benchmark

export async function main(argv) {
  const opts = options(argv);
  const log = (text) => process.stderr.write(`${text}\n`);
  if (!existsSync(path.join(pkgDir, 'dist', 'bin.js')))
    throw new Error('dist/bin.js is missing: run `npm run build` first (npm run bench:run does).');
  const m = machine();
  const loadStart = loadavg();
  const startedAt = new Date().toISOString();
  log(`bench run: ${describeMachine(m)}; load average ${loadStart.join(' ')}`);

  const tempRoot = mkdtempSync(path.join(os.tmpdir(), 'osml-ext-bench-run-'));
  const cleanup = cleanupOnExit(tempRoot, log);
  const snapshot = await snapshotBuild(pkgDir, path.join(tempRoot, 'cli'));
  const snapDir = path.dirname(path.dirname(snapshot.bin));
  const distDir = path.dirname(snapshot.bin);
  log(
    `bench run: measuring a snapshot of dist/ (${snapshot.dist.files} files, sha256 ${snapshot.dist.sha256.slice(0, 12)})`,
  );
  const { planTiles } = await import(pathToFileURL(path.join(distDir, 'runner', 'tile.js')).href);

  // A working directory with no config (the search stops at its package.json) and no plugin:
  // the full run selects the built-in `http` pair.
  const cwd = path.join(tempRoot, 'cwd');
  const noPlugins = path.join(tempRoot, 'no-plugins');
  mkdirSync(cwd, { recursive: true });
  mkdirSync(noPlugins);
  writeFileSync(path.join(cwd, 'package.json'), '{"name":"osml-ext-bench-run","private":true}\n');

  // The sync SageMaker hook (issue #11): only when the build and the local runtime exist.
  const smReasons = [];
  if (!existsSync(path.join(distDir, 'services', 'sagemaker.js'))) smReasons.push('dist/services/sagemaker.js');
  if (!existsSync(path.join(pkgDir, 'examples', 'sagemaker-local', 'server.mjs')))
    smReasons.push('examples/sagemaker-local/server.mjs');
  if (!existsSync(path.join(pkgDir, 'plugins', 'sm-endpoint'))) smReasons.push('plugins/sm-endpoint');
  const sagemaker = opts.sagemaker && smReasons.length === 0;
  const smNote = !opts.sagemaker
    ? 'skipped (--no-sagemaker)'
    : smReasons.length > 0
      ? `n/a: the sync SageMaker path is not built yet (missing ${smReasons.join(', ')})`
      : undefined;
  let smPlugins;
  if (sagemaker) {
    // The repo's plugins, copied beside the snapshot so that their `import 'osml-extensions'`
    // resolves to the snapshot, with old mtimes so the manifest cache trusts them at once.
    smPlugins = path.join(snapDir, 'plugins');
    cpSync(path.join(pkgDir, 'plugins'), smPlugins, { recursive: true });
    const past = new Date(Date.now() - 3600_000);
    const touch = (p) => {
      utimesSync(p, past, past);
      for (const e of readdirSync(p, { withFileTypes: true })) {
        if (e.isDirectory()) touch(path.join(p, e.name));
        else utimesSync(path.join(p, e.name), past, past);
      }
    };
    touch(smPlugins);
  } else log(`bench run: SageMaker legs ${smNote}`);

  const images = [];
  for (const size of opts.sizes) images.push(await syntheticImage(size, opts.content, opts.imageCache, log));

  const env = cleanEnv();
  const servers = [];
  let results;
  let profile;
  try {
    const nullModel = await startServer(
      process.execPath,
      [path.join(benchDir, 'null-model.mjs'), '--port', '0'],
      (out) => /listening on (\S+)/.exec(out)?.[1],
      { env },
    );
    servers.push(nullModel);
    const modelStats = async () => (await fetch(`${nullModel.found}/stats`)).json();
    let centerModel;
    let local;
    if (sagemaker) {
      centerModel = await startServer(
        process.execPath,
        [path.join(pkgDir, 'examples', 'model-server', 'server.mjs'), '--port', '0', '--mode', 'center'],
        (out) => /listening on (\S+)/.exec(out)?.[1],
        { env },
      );
      servers.push(centerModel);
      local = await startServer(
        process.execPath,
        [
          path.join(pkgDir, 'examples', 'sagemaker-local', 'server.mjs'),
          ...['--port', '0', '--s3-port', '0', '--mode', 'center'],
        ],
        (out) =>
          /AWS_SECRET_ACCESS_KEY=\S+\n/.test(out)
            ? Object.fromEntries([...out.matchAll(/export (\w+)=(\S+)/g)].map((x) => [x[1], x[2]]))
            : undefined,
        { env },
      );
      servers.push(local);
    }

    const usageFile = path.join(tempRoot, 'usage.json');
    const common = ['--tile-size', TILE_SIZE, '--tile-overlap', TILE_OVERLAP, '--concurrency', opts.concurrency];
    const cliRun = (image, endpoint, out, plugins) => [
      '--import',
      REPORTER,
      snapshot.bin,
      ...['run', image.file, '--endpoint', endpoint, ...common.map(String)],
      ...['--out', path.join(tempRoot, out), '--json', '--no-progress', '--plugins', plugins, '--cwd', cwd],
    ];
    const prototype = async (variant, image, tiles) => {
      const before = await modelStats();
      const args = ['--import', REPORTER, path.join(benchDir, 'image-prototype.mjs'), image.file, '--dist', distDir];
      args.push('--endpoint', `${nullModel.found}/invocations`, '--variant', variant, '--cwd', cwd);
      args.push('--out', path.join(tempRoot, `${variant}.geojson`), '--plugins', noPlugins, ...common.map(String));
      const r = await runTimed(process.execPath, args, {
        cwd,
        env: { ...env, BENCH_RSS_FILE: usageFile },
        timeoutMs: opts.timeoutMs,
        usageFile,
      });
      const after = await modelStats();
      const delta = {
        calls: after.calls - before.calls,
        bytes: after.bytes - before.bytes,
        empty: after.empty - before.empty,
      };
      return { r, ...checkRun(variant, r, image.size, tiles, delta), modelCpuMs: after.cpuMs - before.cpuMs };
    };
    const VARIANTS = {
      floor: async (image, tiles) => {
        const args = ['--import', REPORTER, path.join(benchDir, 'image-floor.mjs'), image.file];
        args.push('--tile-module', path.join(distDir, 'runner', 'tile.js'), '--region-size', String(REGION_SIZE));
        const r = await runTimed(process.execPath, [...args, ...common.map(String)], {
          cwd,
          env: { ...env, BENCH_RSS_FILE: usageFile },
          timeoutMs: opts.timeoutMs,
          usageFile,
        });
        return { r, ...checkFloor(r, image.size, tiles) };
      },
      full: async (image, tiles) => {
        const before = await modelStats();
        const r = await runTimed(
          process.execPath,
          cliRun(image, `${nullModel.found}/invocations`, 'full.geojson', noPlugins),
          { cwd, env: { ...env, BENCH_RSS_FILE: usageFile }, timeoutMs: opts.timeoutMs, usageFile },
        );
        const after = await modelStats();
        const delta = {
          calls: after.calls - before.calls,
          bytes: after.bytes - before.bytes,
          empty: after.empty - before.empty,
        };
        return { r, ...checkRun('full', r, image.size, tiles, delta), modelCpuMs: after.cpuMs - before.cpuMs };
      },
      'proto-http': (image, tiles) => prototype('proto-http', image, tiles),
      'proto-both': (image, tiles) => prototype('proto-both', image, tiles),
      'http-center': async (image, tiles) => {
        const r = await runTimed(
          process.execPath,
          cliRun(image, `${centerModel.found}/invocations`, 'http-center.geojson', smPlugins),
          { cwd, env: { ...env, BENCH_RSS_FILE: usageFile }, timeoutMs: opts.timeoutMs, usageFile },
        );
        return { r, ...checkRun('http-center', r, image.size, tiles) };
      },
      'sm-center': async (image, tiles) => {
        const r = await runTimed(process.execPath, cliRun(image, 'bench-endpoint', 'sm-center.geojson', smPlugins), {
          cwd,
          env: { ...env, ...local.found, REQUEST_TYPE: 'sm_endpoint', BENCH_RSS_FILE: usageFile },
          timeoutMs: opts.timeoutMs,
          usageFile,
        });
        return { r, ...checkRun('sm-center', r, image.size, tiles) };
      },
    };

    results = [];
    for (const image of images) {
      const plan = planTiles(
        { x: 0, y: 0, width: image.size, height: image.size },
        { regionSize: REGION_SIZE, tileSize: TILE_SIZE, tileOverlap: TILE_OVERLAP },
      );
      const tiles = plan.regions.reduce((n, r) => n + r.tiles.length, 0);
      // The same image as one region: the tiles a plan without region seams would need.
      const oneRegion = planTiles(
        { x: 0, y: 0, width: image.size, height: image.size },
        { regionSize: image.size, tileSize: TILE_SIZE, tileOverlap: TILE_OVERLAP },
      ).regions[0].tiles.length;
      const firstSize = image === images[0];
      const names = [
        'floor',
        'full',
        ...(opts.prototypes && firstSize ? ['proto-http', 'proto-both'] : []),
        ...(sagemaker && firstSize ? ['http-center', 'sm-center'] : []),
      ];
      const entry = { size: image.size, tiles, oneRegionTiles: oneRegion, regions: plan.regions.length, variants: {} };
      for (const v of names) entry.variants[v] = { warmup: [], runs: [] };
      log(
        `bench run: ${image.size}²: ${tiles} tiles in ${plan.regions.length} region(s) (one region: ${oneRegion}), ` +
          `1 warm-up + ${opts.runs} runs of ${names.join(', ')}, order rotating`,
      );
      for (let rep = -1; rep < opts.runs; rep++) {
        // Rotate the order every repetition, so no variant always runs first (or after the same one).
        const shift = ((rep % names.length) + names.length) % names.length;
        const order = [...names.slice(shift), ...names.slice(0, shift)];
        const line = [];
        for (const v of order) {
          const out = await VARIANTS[v](image, tiles);
          const sample = {
            ms: Math.round(out.r.ms),
            workMs: out.workMs,
            maxRssKiB: out.r.usage.maxRssKiB,
            cpuMs: Math.round(out.r.usage.userCpuMs + out.r.usage.systemCpuMs),
            ...(out.bytes === undefined ? {} : { bytes: out.bytes }),
            ...(out.features === undefined ? {} : { features: out.features }),
            ...(out.modelCpuMs === undefined ? {} : { modelCpuMs: Math.round(out.modelCpuMs) }),
          };
          entry.variants[v][rep < 0 ? 'warmup' : 'runs'].push(sample);
          line.push(`${v} ${Math.round(out.workMs)} ms/${fmtMb(sample.maxRssKiB)} MB`);
        }
        log(`bench run: ${image.size}² ${rep < 0 ? 'warm-up' : `run ${rep + 1}/${opts.runs}`}: ${line.join(', ')}`);
      }
      for (const v of names) {
        const runs = entry.variants[v].runs;
        for (const key of ['workMs', 'ms', 'maxRssKiB', 'cpuMs', 'modelCpuMs']) {
          if (runs.every((r) => r[key] !== undefined)) entry.variants[v][key] = summarize(runs.map((r) => r[key]));
        }
      }
      const paired = (a, b) => entry.variants[a].runs.map((x, i) => x.workMs / entry.variants[b].runs[i].workMs);
      entry.throughputRatio = entry.variants.floor.workMs.median / entry.variants.full.workMs.median;
      entry.pairedThroughputRatio = summarize(paired('floor', 'full'));
      for (const v of ['proto-http', 'proto-both']) {
        if (!entry.variants[v]) continue;
        entry.prototypes ??= {};
        entry.prototypes[v] = {
          throughputRatio: entry.variants.floor.workMs.median / entry.variants[v].workMs.median,
          paired: summarize(paired('floor', v)),
        };
      }
      if (entry.variants['sm-center']) {
        entry.smOverHttpThroughput =
          entry.variants['http-center'].workMs.median / entry.variants['sm-center'].workMs.median;
        entry.pairedSmOverHttp = summarize(paired('http-center', 'sm-center'));
      }
      results.push(entry);
    }

    if (opts.profile) {
      const image = images[0];
      const profDir = path.join(tempRoot, 'prof');
      const args = cliRun(image, `${nullModel.found}/invocations`, 'full.geojson', noPlugins).slice(2);
      const r = await runTimed(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, ...args], {
        cwd,
        env,
        timeoutMs: opts.timeoutMs,
      });
      if (r.code !== 0) throw invalid('profiled full', image.size, r, 'non-zero exit');
      const [file] = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
      const kept = opts.out.replace(/\.json$/, '') + '-full.cpuprofile';
      mkdirSync(path.dirname(kept), { recursive: true });
      copyFileSync(path.join(profDir, file), kept);
      const summary = summarizeProfile(JSON.parse(readFileSync(kept, 'utf8')), 15);
      profile = { file: kept, text: formatProfile(summary, `full run at ${image.size}² (${kept})`) };
    }
  } catch (error) {
    killChildren();
    if (error instanceof InvalidRun) {
      log(`bench run: ABORTED: ${error.message}`);
      process.exitCode = 1;
      cleanup();
      return;
    }
    throw error;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  cleanup();

  // -------------------------------------------------------------------------------------------
  // Report

  const mb = (kib) =>
    kib === undefined ? 'n/a' : fmtMs({ median: kib.median / 1024, min: kib.min / 1024, max: kib.max / 1024 });
  const perSecond = (e, v) => (e.tiles * 1000) / e.variants[v].workMs.median;
  const rows = results.flatMap((e) =>
    Object.keys(e.variants).map((v) => [
      `${e.size}²`,
      v,
      fmtMs(e.variants[v].workMs),
      perSecond(e, v).toFixed(0),
      fmtMs(e.variants[v].ms),
      fmtMs(e.variants[v].cpuMs),
      mb(e.variants[v].maxRssKiB),
    ]),
  );
  const table = markdownTable(
    ['image', 'variant', 'work ms', 'tiles/s', 'process wall ms', 'process CPU ms', 'peak RSS MB'],
    rows,
  );
  const at = (size) => results.find((e) => e.size === size);
  const first = results[0];
  const rssOf = (e) => e.variants.full.maxRssKiB.median / 1024;
  const targets = [];
  const target = (label, value, ok, text) => {
    const status = value === undefined || !Number.isFinite(value) ? 'n/a' : ok(value) ? 'PASS' : 'MISS';
    targets.push({ label, value: value ?? null, status });
    return `  ${status.padEnd(4)}  ${label}: ${text}`;
  };
  const targetLines = [];
  for (const e of results) {
    const p = e.pairedThroughputRatio;
    targetLines.push(
      target(
        `run throughput / floor throughput at ${e.size}²`,
        e.throughputRatio,
        (x) => x >= TARGETS.throughput,
        `${fmtRatio(e.throughputRatio)} (paired per repetition ${fmtRatio(p.min)}–${fmtRatio(p.max)}; target ≥ ${fmtRatio(TARGETS.throughput)})`,
      ),
    );
  }
  for (const e of results) {
    targetLines.push(
      target(
        `run peak RSS at ${e.size}²`,
        rssOf(e),
        (x) => x <= TARGETS.rssMb,
        `${rssOf(e).toFixed(1)} MB (target ≤ ${TARGETS.rssMb} MB)`,
      ),
    );
  }
  const small = at(8192);
  const large = at(16384);
  const growth = small && large ? rssOf(large) - rssOf(small) : undefined;
  targetLines.push(
    target(
      'run peak RSS growth 8192² → 16384²',
      growth,
      (x) => x < TARGETS.rssGrowthMb,
      growth === undefined ? 'needs both sizes' : `${growth.toFixed(1)} MB (target < ${TARGETS.rssGrowthMb} MB)`,
    ),
  );
  const protoLines = results.flatMap((e) =>
    Object.entries(e.prototypes ?? {}).map(
      ([v, p]) =>
        `  ${v} / floor throughput at ${e.size}² (runImage with the suggested fixes, not in src/): ${fmtRatio(p.throughputRatio)} ` +
        `(paired ${fmtRatio(p.paired.min)}–${fmtRatio(p.paired.max)})`,
    ),
  );
  const smLine =
    first?.smOverHttpThroughput === undefined
      ? `  sm_endpoint / http: ${smNote ?? 'n/a'}`
      : `  sm_endpoint / http throughput at ${first.size}² (example model, --mode center): ${fmtRatio(first.smOverHttpThroughput)} ` +
        `(paired ${fmtRatio(first.pairedSmOverHttp.min)}–${fmtRatio(first.pairedSmOverHttp.max)}; no target, issue #11 asks for the ratio)`;

  const loadEnd = loadavg();
  const image = images[0];
  const report = [
    '',
    `Machine: ${describeMachine(m)}`,
    `osml-extensions (dist sha256 ${snapshot.dist.sha256.slice(0, 12)}); ${opts.runs} runs after 1 warm-up, order rotating; median [min–max]; load average ${loadStart.join(' ')} → ${loadEnd.join(' ')}`,
    `Image: synthetic ${opts.content} RGB, tiled 512, DEFLATE, ${image.georeferenced ? 'georeferenced (UTM 33N)' : 'no georeferencing (gdal_edit.py not found)'}; tiles ${TILE_SIZE}, overlap ${TILE_OVERLAP}, region ${REGION_SIZE}, PNG (compression NONE), concurrency ${opts.concurrency}`,
    `Tiles: ${results.map((e) => `${e.size}² ${e.tiles} in ${e.regions} region(s) (as one region: ${e.oneRegionTiles})`).join('; ')}`,
    '',
    table,
    '',
    `work ms: the floor's own timer (open → last tile); for the runs, the summary's durationMs (open, tiles, de-duplicate, write; boot excluded).`,
    `The null model's CPU per full run: ${results.map((e) => `${e.size}² ${fmtMs(e.variants.full.modelCpuMs)} ms`).join('; ')}`,
    '',
    'Targets (issue #10 item 14):',
    ...targetLines,
    smLine,
    ...protoLines,
    '',
  ];
  if (profile) report.push(profile.text, '');
  process.stdout.write(`${report.join('\n')}\n`);

  const raw = {
    benchmark: 'osml-extensions run (issue #10 item 14; issue #11 sync SageMaker ratio)',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: m,
    loadavg: { start: loadStart, end: loadEnd },
    build: { dist: snapshot.dist },
    options: { ...opts, out: undefined, imageCache: undefined },
    images,
    tiling: {
      tileSize: TILE_SIZE,
      tileOverlap: TILE_OVERLAP,
      regionSize: REGION_SIZE,
      format: 'PNG',
      compression: 'NONE',
    },
    units: {
      workMs: 'floor: open to last tile; runs: summary durationMs',
      ms: 'process wall time, spawn to exit',
      cpuMs: 'user + system CPU of the child, all threads',
      maxRssKiB: 'getrusage ru_maxrss of the child, KiB',
      modelCpuMs: 'CPU of the null model process during the run',
    },
    results,
    targets,
    sagemaker: sagemaker ? 'measured' : smNote,
    profile: profile?.file ?? null,
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(raw, null, 2)}\n`);
  log(`bench run: raw results written to ${path.relative(process.cwd(), opts.out)}`);
}
