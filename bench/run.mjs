#!/usr/bin/env node
/**
 * `npm run bench`: whole-process benchmark of plugin loading (see BENCHMARKS.md).
 *
 * For each N (default 100, 1000, 10000) it generates N synthetic plugin folders in a temp dir and
 * times, side by side and interleaved within each repetition:
 *   floor   a bare Node script importing every entry (Promise.all of import()), nothing else;
 *   eager   `osml-extensions list --json --no-cache` (discover, import, validate, register, output);
 *   cached  `osml-extensions list --json` with a warm manifest cache;
 * and the peak RSS of each (reported by a tiny `--import` preload, bench/rss-reporter.mjs).
 * One warm-up repetition is discarded, then `--runs` repetitions give median [min–max].
 * Every run's output is validated; a broken run aborts the benchmark. The CLI run is a snapshot
 * of dist/ copied at the start (bench/snapshot.mjs), so a rebuild during the run changes nothing.
 *
 * This file is also the entry of the other parts: `node bench/run.mjs PART [options]`, PART one of
 *   boot     this benchmark (the default when no part is named)
 *   startup  the start-up rows: whole CLI processes against `node -e ''` (bench/startup.mjs)
 *   run      the run benchmark: a synthetic image through `run` against its floor (bench/image.mjs)
 *   all      boot, startup and run in turn, each in its own process (`--quick` is passed on)
 *
 * Options of boot (argv, or env):
 *   --sizes 100,1000     BENCH_SIZES   sizes to run                   [100,1000,10000]
 *   --runs N             BENCH_RUNS    timed repetitions after 1 warm-up [5]
 *   --out FILE           BENCH_OUT     raw results JSON               [bench/results.json]
 *   --quick              BENCH_QUICK=1 sizes 100,1000 and 3 runs (explicit --sizes/--runs win)
 *   --timeout SECONDS    BENCH_TIMEOUT per child process               [600]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generate, makeTempRoot } from './fixtures.mjs';
import { snapshotBuild } from './snapshot.mjs';
import { fmtMb, fmtMs, fmtRatio, fmtUs, markdownTable, summarize } from './stats.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.dirname(benchDir);
const BIN = path.join(pkgDir, 'dist', 'bin.js');
/** The CLI actually run: a snapshot of dist/ in the temp dir (see snapshot.mjs). */
let bin = BIN;
const REPORTER = pathToFileURL(path.join(benchDir, 'rss-reporter.mjs')).href;

const USAGE = `Usage: node bench/run.mjs [boot|startup|run|all] [--sizes 100,1000,10000] [--runs 5] [--out bench/results.json] [--quick] [--timeout 600]`;

// ---------------------------------------------------------------------------------------------
// Options

function options(args) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        sizes: { type: 'string' },
        runs: { type: 'string' },
        out: { type: 'string' },
        quick: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`bench: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const quick = parsed.quick === true || /^(1|true|yes|on)$/i.test(env.BENCH_QUICK ?? '');
  const sizesText = parsed.sizes ?? env.BENCH_SIZES ?? (quick ? '100,1000' : '100,1000,10000');
  const sizes = sizesText.split(',').map((s) => Number(s.trim().replaceAll('_', '')));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 99999)) {
    console.error(`bench: --sizes must be a comma-separated list of integers in 1..99999, received "${sizesText}"`);
    process.exit(2);
  }
  const runs = Number(parsed.runs ?? env.BENCH_RUNS ?? (quick ? 3 : 5));
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`bench: --runs must be a positive integer, received "${parsed.runs ?? env.BENCH_RUNS}"`);
    process.exit(2);
  }
  const timeoutS = Number(parsed.timeout ?? env.BENCH_TIMEOUT ?? 600);
  const outArg = parsed.out ?? env.BENCH_OUT;
  const out = outArg === undefined ? path.join(benchDir, 'results.json') : path.resolve(outArg);
  return { sizes: [...new Set(sizes)].sort((a, b) => a - b), runs, warmup: 1, out, quick, timeoutMs: timeoutS * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Child processes

/** A clean environment: nothing that would change what the CLI or Node does. */
const childEnv = { ...process.env };
for (const key of [
  'NODE_OPTIONS',
  'NODE_V8_COVERAGE',
  'NODE_DEBUG',
  'REQUEST_TYPE',
  'USE_EXTENSIONS',
  'EXTENSION_FALLBACK_ENABLED',
  'LOG_LEVEL',
]) {
  delete childEnv[key];
}

let currentChild;

/**
 * Spawn `node --import rss-reporter <args>` and wait for it. Wall time is from just before the
 * spawn to the child's exit; stdout/stderr are collected until the pipes close.
 */
function runChild(args, { cwd, rssFile, timeoutMs }) {
  rmSync(rssFile, { force: true });
  return new Promise((resolve, reject) => {
    const stdout = [];
    const stderr = [];
    let exitAt;
    let code;
    let signal;
    let timedOut = false;
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', REPORTER, ...args], {
      cwd,
      env: { ...childEnv, BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    currentChild = child;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    child.on('exit', (c, s) => {
      exitAt = performance.now();
      code = c;
      signal = s;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      currentChild = undefined;
      reject(error);
    });
    child.on('close', () => {
      clearTimeout(timer);
      currentChild = undefined;
      let usage;
      try {
        usage = JSON.parse(readFileSync(rssFile, 'utf8'));
      } catch {
        usage = undefined;
      }
      resolve({
        ms: (exitAt ?? performance.now()) - started,
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        usage,
      });
    });
  });
}

class InvalidRun extends Error {}

function invalid(variant, n, result, problem) {
  const tail = (text, max) => (text.length > max ? `…${text.slice(-max)}` : text);
  const head = (text, max) => (text.length > max ? `${text.slice(0, max)}…` : text);
  return new InvalidRun(
    [
      `${variant} run at N=${n} is invalid: ${problem}`,
      `  exit code ${result.code}${result.signal ? `, signal ${result.signal}` : ''}${result.timedOut ? ' (timed out)' : ''}`,
      `  stdout: ${head(result.stdout.trim(), 600) || '(empty)'}`,
      `  stderr: ${tail(result.stderr.trim(), 2000) || '(empty)'}`,
    ].join('\n'),
  );
}

/** Floor: exit 0 and print the number of modules imported. */
function validateFloor(result, n) {
  if (result.code !== 0) throw invalid('floor', n, result, 'non-zero exit');
  if (result.stdout.trim() !== String(n)) throw invalid('floor', n, result, `expected "${n}" on stdout`);
  if (result.usage === undefined) throw invalid('floor', n, result, 'no resource report from the preload');
}

/** CLI: exit 0, one JSON document, 2N+2 handlers (plus the built-in http pair), nothing refused. */
function validateList(result, n, variant) {
  if (result.code !== 0) throw invalid(variant, n, result, 'non-zero exit');
  let doc;
  try {
    doc = JSON.parse(result.stdout);
  } catch (error) {
    throw invalid(variant, n, result, `stdout is not one JSON document (${error.message})`);
  }
  if (!Array.isArray(doc.handlers) || doc.handlers.length !== 2 * n + 2) {
    throw invalid(
      variant,
      n,
      result,
      `expected ${2 * n + 2} handlers, got ${Array.isArray(doc.handlers) ? doc.handlers.length : typeof doc.handlers}`,
    );
  }
  if (!Array.isArray(doc.rejected) || doc.rejected.length !== 0) {
    throw invalid(variant, n, result, `expected no rejected plugin, got ${JSON.stringify(doc.rejected).slice(0, 600)}`);
  }
  const types = Object.entries(doc.requestTypes ?? {});
  if (types.length !== n + 1 || types.some(([, t]) => t?.complete !== true)) {
    throw invalid(
      variant,
      n,
      result,
      `expected ${n + 1} complete request types, got ${types.length} (${types.filter(([, t]) => t?.complete !== true).length} incomplete)`,
    );
  }
  if (result.usage === undefined) throw invalid(variant, n, result, 'no resource report from the preload');
}

// ---------------------------------------------------------------------------------------------
// The benchmark

const VARIANT_NAMES = ['floor', 'eager', 'cached'];

function commandFor(variant, fx, noCacheFlag) {
  if (variant === 'floor') return [fx.floorScript];
  const cacheFlag = variant === 'eager' && noCacheFlag ? ['--no-cache'] : [];
  return [bin, 'list', '--json', ...cacheFlag, '--plugins', fx.pluginRoot, '--log-level', 'silent', '--cwd', fx.cwd];
}

function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

function describeMachine(m) {
  return `Node ${m.node} (V8 ${m.v8}), ${m.platform}, ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM`;
}

const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

async function main(args) {
  const opts = options(args);
  if (!existsSync(BIN))
    throw new Error(
      `${path.relative(process.cwd(), BIN)} is missing: run \`npm run build\` first (npm run bench does).`,
    );
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const m = machine();
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const log = (text) => process.stderr.write(`${text}\n`);
  log(`bench: ${describeMachine(m)}; load average ${loadStart.join(' ')}`);
  log(
    `bench: sizes ${opts.sizes.join(', ')}; 1 warm-up + ${opts.runs} run${opts.runs === 1 ? '' : 's'} per variant, interleaved`,
  );

  const tempRoot = makeTempRoot();
  const cleanup = () => rmSync(tempRoot, { recursive: true, force: true, maxRetries: 3 });
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      currentChild?.kill('SIGKILL');
      log(`\nbench: ${sig}, removing ${tempRoot}`);
      cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }

  let build;
  try {
    const snapshot = await snapshotBuild(pkgDir, path.join(tempRoot, 'cli'));
    bin = snapshot.bin;
    build = snapshot.dist;
    log(
      `bench: measuring a snapshot of dist/ (${build.files} files, sha256 ${build.sha256.slice(0, 12)}, built ${build.newestMtime})`,
    );
  } catch (error) {
    cleanup();
    throw error;
  }

  const rssFile = path.join(tempRoot, 'usage.json');
  const run = (variant, fx, noCacheFlag) =>
    runChild(commandFor(variant, fx, noCacheFlag), { cwd: fx.cwd, rssFile, timeoutMs: opts.timeoutMs });
  const sample = (r) => ({
    ms: Math.round(r.ms * 100) / 100,
    maxRssKiB: r.usage.maxRssKiB,
    userCpuMs: Math.round(r.usage.userCpuMs * 10) / 10,
    systemCpuMs: Math.round(r.usage.systemCpuMs * 10) / 10,
  });

  let cacheSupported; // decided by a probe on the first size
  let cacheNote;
  const results = [];
  try {
    for (const n of opts.sizes) {
      const t = performance.now();
      const fx = generate(tempRoot, n);
      log(`bench: N=${n}: generated ${n} plugins in ${Math.round(performance.now() - t)} ms`);

      if (cacheSupported === undefined) {
        // Does the CLI know --no-cache yet? Exit 2 with USAGE_INVALID means no cache to compare.
        const probe = await run('eager', fx, true);
        let error;
        try {
          error = JSON.parse(probe.stdout)?.error;
        } catch {
          error = undefined;
        }
        if (probe.code === 2 && error?.code === 'USAGE_INVALID') {
          cacheSupported = false;
          cacheNote = 'n/a (cache not implemented)';
          log(`bench: the CLI rejects --no-cache (${error.message}); eager runs without it, cached is ${cacheNote}`);
        } else {
          validateList(probe, n, 'eager (--no-cache probe)');
          cacheSupported = true;
        }
      }
      const variants = cacheSupported ? VARIANT_NAMES : ['floor', 'eager'];
      const entry = { n, variants: {}, cacheDirFound: undefined, cachedOutputMatchesEager: undefined };
      for (const v of variants) entry.variants[v] = { warmup: [], runs: [] };

      if (cacheSupported) {
        const warm = await run('cached', fx, true);
        validateList(warm, n, 'cached (cache warming)');
        entry.cacheWarmMs = Math.round(warm.ms * 100) / 100;
        entry.cacheWarmRssKiB = warm.usage.maxRssKiB;
        entry.cacheDirFound = existsSync(fx.cacheDir);
        if (!entry.cacheDirFound)
          log(`bench: N=${n}: warning: no cache at ${path.relative(tempRoot, fx.cacheDir)} after the warming run`);
      }

      const lastStdout = {};
      for (let rep = -opts.warmup; rep < opts.runs; rep++) {
        const line = [];
        for (const v of variants) {
          const r = await run(v, fx, cacheSupported);
          if (v === 'floor') validateFloor(r, n);
          else validateList(r, n, v);
          if (v !== 'floor') lastStdout[v] = r.stdout;
          entry.variants[v][rep < 0 ? 'warmup' : 'runs'].push(sample(r));
          line.push(`${v} ${Math.round(r.ms)} ms/${fmtMb(r.usage.maxRssKiB)} MB`);
        }
        log(`bench: N=${n} ${rep < 0 ? 'warm-up' : `run ${rep + 1}/${opts.runs}`}: ${line.join(', ')}`);
      }
      if (cacheSupported) {
        entry.cachedOutputMatchesEager = lastStdout.cached === lastStdout.eager;
        if (!entry.cachedOutputMatchesEager) log(`bench: N=${n}: warning: cached stdout differs from eager stdout`);
      }

      for (const v of variants) {
        const runs = entry.variants[v].runs;
        entry.variants[v].ms = summarize(runs.map((r) => r.ms));
        entry.variants[v].maxRssKiB = summarize(runs.map((r) => r.maxRssKiB));
        entry.variants[v].cpuMs = summarize(runs.map((r) => r.userCpuMs + r.systemCpuMs));
      }
      const med = (v) => entry.variants[v]?.ms.median;
      entry.ratios = {
        eagerFloor: med('eager') / med('floor'),
        ...(cacheSupported ? { cachedFloor: med('cached') / med('floor') } : {}),
      };
      entry.perPluginUs = {
        floor: (med('floor') * 1000) / n,
        eager: (med('eager') * 1000) / n,
        ...(cacheSupported ? { cached: (med('cached') * 1000) / n } : {}),
      };
      results.push(entry);
      rmSync(fx.cwd, { recursive: true, force: true, maxRetries: 3 });
    }
  } catch (error) {
    if (error instanceof InvalidRun) {
      log(`bench: ABORTED: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  } finally {
    cleanup();
  }

  // -------------------------------------------------------------------------------------------
  // Report

  const cachedCell = (fn) => (cacheSupported ? fn() : 'n/a');
  const rows = results.map((e) => {
    const rss = (v) => fmtMb(e.variants[v]?.maxRssKiB.median);
    return [
      e.n.toLocaleString('en-US'),
      fmtMs(e.variants.floor.ms),
      fmtMs(e.variants.eager.ms),
      cachedCell(() => fmtMs(e.variants.cached.ms)),
      fmtRatio(e.ratios.eagerFloor),
      cachedCell(() => fmtRatio(e.ratios.cachedFloor)),
      `${fmtUs(e.perPluginUs.eager)} / ${cachedCell(() => fmtUs(e.perPluginUs.cached))}`,
      `${rss('floor')} / ${rss('eager')} / ${cachedCell(() => rss('cached'))}`,
    ];
  });
  const table = markdownTable(
    [
      'N',
      'floor ms',
      'eager ms',
      'cached ms',
      'eager/floor',
      'cached/floor',
      'per-plugin µs (eager / cached)',
      'peak RSS MB (floor / eager / cached)',
    ],
    rows,
  );

  // CPU time is less sensitive than wall time to other load on the machine: a cross-check.
  const cpuTable = markdownTable(
    ['N', 'floor CPU ms', 'eager CPU ms', 'cached CPU ms', 'eager/floor', 'cached/floor'],
    results.map((e) => {
      const cpu = (v) => e.variants[v]?.cpuMs.median;
      return [
        e.n.toLocaleString('en-US'),
        fmtMs(e.variants.floor.cpuMs),
        fmtMs(e.variants.eager.cpuMs),
        cachedCell(() => fmtMs(e.variants.cached.cpuMs)),
        fmtRatio(cpu('eager') / cpu('floor')),
        cachedCell(() => fmtRatio(cpu('cached') / cpu('floor'))),
      ];
    }),
  );

  const at = (n) => results.find((e) => e.n === n);
  const targets = [];
  const target = (label, value, limit, fmt, pending) => {
    const status =
      pending ?? (value === undefined || !Number.isFinite(value) ? 'n/a' : value <= limit ? 'PASS' : 'MISS');
    targets.push({ label, limit, value: value ?? null, status });
    return `  ${status.padEnd(4)}  ${label}: ${value === undefined || !Number.isFinite(value) ? (pending ? cacheNote : 'size not run') : fmt(value)} (target ≤ ${fmt(limit)})`;
  };
  const ratio = (n, key) => at(n)?.ratios[key];
  const perPluginGrowth = (key) =>
    at(10000) && at(1000) ? at(10000).perPluginUs[key] / at(1000).perPluginUs[key] : undefined;
  const noCache = cacheSupported ? undefined : 'n/a';
  const mb = (x) => `${x.toFixed(1)} MB`;
  const rssExcess = at(10000)
    ? (at(10000).variants.eager.maxRssKiB.median - at(10000).variants.floor.maxRssKiB.median) / 1024
    : undefined;
  const targetLines = [
    target('eager/floor at N=10,000', ratio(10000, 'eagerFloor'), 1.15, fmtRatio),
    target('eager/floor at N=1,000', ratio(1000, 'eagerFloor'), 1.5, fmtRatio),
    target('cached/floor at N=10,000', ratio(10000, 'cachedFloor'), 0.15, fmtRatio, noCache),
    target('cached/floor at N=1,000', ratio(1000, 'cachedFloor'), 0.4, fmtRatio, noCache),
    target('eager per-plugin time, N=10,000 vs N=1,000', perPluginGrowth('eager'), 1.2, fmtRatio),
    target('cached per-plugin time, N=10,000 vs N=1,000', perPluginGrowth('cached'), 1.2, fmtRatio, noCache),
    target('eager peak RSS above floor at N=10,000', rssExcess, 40, mb),
  ];

  // Informational: the marginal cost of one more plugin between the two largest sizes, which
  // leaves out the fixed start-up cost that total/N still carries.
  const marginal = [];
  if (results.length >= 2) {
    const [a, b] = results.slice(-2);
    for (const v of Object.keys(b.variants)) {
      const us = ((b.variants[v].ms.median - a.variants[v].ms.median) * 1000) / (b.n - a.n);
      marginal.push({ variant: v, fromN: a.n, toN: b.n, usPerPlugin: us });
    }
  }

  const loadEnd = loadavg();
  const report = [
    '',
    `Machine: ${describeMachine(m)}`,
    `osml-extensions ${pkg.version} (dist sha256 ${build.sha256.slice(0, 12)}); ${opts.runs} run${opts.runs === 1 ? '' : 's'} after 1 warm-up, interleaved; median [min–max]; load average ${loadStart.join(' ')} → ${loadEnd.join(' ')}`,
    '',
    table,
    '',
    'CPU time of the child (user + system, all threads), same runs:',
    '',
    cpuTable,
    '',
    'Targets (issue #4, on wall time):',
    ...targetLines,
    '',
  ];
  const cold = results.filter((e) => e.cacheWarmMs !== undefined);
  if (cold.length > 0) {
    report.push(
      `Cache build (one run with an empty cache, not in the table): ${cold.map((e) => `N=${e.n.toLocaleString('en-US')} ${Math.round(e.cacheWarmMs)} ms / ${fmtMb(e.cacheWarmRssKiB)} MB`).join(', ')}`,
      '',
    );
  }
  if (marginal.length > 0) {
    const [first] = marginal;
    report.push(
      `Marginal cost per added plugin, N=${first.fromN.toLocaleString('en-US')} → ${first.toN.toLocaleString('en-US')} (no start-up cost): ${marginal.map((x) => `${x.variant} ${fmtUs(x.usPerPlugin)} µs`).join(', ')}`,
      '',
    );
  }
  if (!cacheSupported)
    report.push(
      `cached: ${cacheNote}. The CLI does not accept --no-cache yet, so eager ran without it and cached was not measured.`,
      '',
    );
  for (const e of results) {
    if (e.cacheDirFound === false)
      report.push(
        `warning: N=${e.n}: no cache directory found after the warming run (${'<cwd>/node_modules/.cache/osml-extensions'})`,
      );
    if (e.cachedOutputMatchesEager === false) report.push(`warning: N=${e.n}: cached stdout differs from eager stdout`);
  }
  process.stdout.write(`${report.join('\n')}\n`);

  const raw = {
    benchmark: 'osml-extensions plugin loading (issue #4)',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: m,
    loadavg: { start: loadStart, end: loadEnd },
    package: { name: pkg.name, version: pkg.version },
    build: { dist: build },
    options: { sizes: opts.sizes, runs: opts.runs, warmup: opts.warmup, quick: opts.quick },
    cache: { supported: cacheSupported, note: cacheNote ?? null },
    units: {
      ms: 'wall time from spawn to exit',
      maxRssKiB: 'getrusage ru_maxrss of the child, KiB',
      cpuMs: 'user + system CPU of the child',
    },
    results,
    targets,
    marginal,
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(raw, null, 2)}\n`);
  const shown = path.relative(process.cwd(), opts.out);
  log(`bench: raw results written to ${shown.startsWith('..') ? opts.out : shown}`);
}

/** Pick the part named by the first argument (boot when none) and run it with the rest. */
async function dispatch() {
  const argv = process.argv.slice(2);
  const named = argv[0] !== undefined && !argv[0].startsWith('-');
  const part = named ? argv[0] : 'boot';
  const args = named ? argv.slice(1) : argv;
  if (part === 'boot') return main(args);
  if (part === 'startup') return (await import('./startup.mjs')).main(args);
  if (part === 'run') return (await import('./image.mjs')).main(args);
  if (part === 'all') {
    const unknown = args.filter((a) => a !== '--quick');
    if (unknown.length > 0) {
      console.error(
        `bench: \`all\` takes only --quick (run a part alone for its options), received ${unknown.join(' ')}`,
      );
      process.exit(2);
    }
    for (const each of ['boot', 'startup', 'run']) {
      process.stderr.write(`\nbench: === ${each} ===\n`);
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), each, ...args], { stdio: 'inherit' });
      if (child.status !== 0) {
        process.exitCode = child.status ?? 1;
        return undefined;
      }
    }
    return undefined;
  }
  console.error(`bench: unknown part "${part}"\n${USAGE}`);
  process.exit(2);
}

dispatch().catch((error) => {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
