/**
 * `npm run bench:startup` (`node bench/run.mjs startup`): the start-up rows of issue #13 item 6
 * (see BENCHMARKS.md). Whole processes, side by side in one run, against a bare `node -e ''`:
 *
 *   node -e ''                               the floor: Node starting and exiting
 *   --version, --help                        osml-extensions with nothing to do
 *   list --json (repo)                       the repo's plugins, its config, a warm manifest cache
 *   list --json (10), list --json (100)      generated plugin trees (bench/fixtures.mjs), warm cache
 *
 * Each command runs as a user types it (default log level, stderr a pipe the benchmark drains),
 * on a snapshot of dist/ (bench/snapshot.mjs). After one warming run per list row and 2 warm-up
 * repetitions, `--runs` repetitions run every row once each, in an order that rotates; the report
 * gives median, interquartile range and min–max of the wall time (spawn to exit), and each row's
 * median over the `node -e ''` median, and the same for CPU time (user + system, read from this
 * process's cutime/cstime around each child). Every run is validated (exit 0, output, warm cache).
 *
 * Options:
 *   --runs N      timed repetitions                                    [20]
 *   --quick       10 repetitions
 *   --profile     after the runs, profile `--version` and `list --json` on 10 plugins (node --cpu-prof)
 *   --out FILE    raw results                                          [out/bench-startup.json]
 *   --timeout S   per child process                                    [120]
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, utimesSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  childrenCpuMs,
  cleanEnv,
  cleanupOnExit,
  describeMachine,
  killChildren,
  loadavg,
  machine,
  runTimed,
} from './child.mjs';
import { generate, makeTempRoot } from './fixtures.mjs';
import { formatProfile, summarizeProfile } from './profile.mjs';
import { snapshotBuild } from './snapshot.mjs';
import { fmtMsIqr, fmtRatio, markdownTable, summarize } from './stats.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.dirname(benchDir);
const USAGE = 'Usage: node bench/run.mjs startup [--runs 20] [--quick] [--profile] [--out FILE] [--timeout 120]';

/** Targets of issue #13, as ratios of medians to `node -e ''`. */
const TARGETS = { version: 1.2, help: 1.2, list10: 1.5 };

function options(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        quick: { type: 'boolean' },
        profile: { type: 'boolean' },
        out: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`bench startup: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const runs = Number(parsed.runs ?? (parsed.quick ? 10 : 20));
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`bench startup: --runs must be a positive integer, received "${parsed.runs}"\n${USAGE}`);
    process.exit(2);
  }
  return {
    runs,
    warmup: 2,
    quick: parsed.quick === true,
    profile: parsed.profile === true,
    out: path.resolve(parsed.out ?? path.join(pkgDir, 'out', 'bench-startup.json')),
    timeoutMs: Number(parsed.timeout ?? 120) * 1000,
  };
}

class InvalidRun extends Error {}

function invalid(row, result, problem) {
  const cut = (text, max) => (text.length > max ? `${text.slice(0, max)}…` : text);
  return new InvalidRun(
    [
      `${row} is invalid: ${problem}`,
      `  exit code ${result.code}${result.signal ? `, signal ${result.signal}` : ''}${result.timedOut ? ' (timed out)' : ''}`,
      `  stdout: ${cut(result.stdout.trim(), 600) || '(empty)'}`,
      `  stderr: ${cut(result.stderr.trim(), 1500) || '(empty)'}`,
    ].join('\n'),
  );
}

/** A list document with `handlers` handlers, nothing refused, and (warm) every plugin from the cache. */
function checkList(row, result, handlers, plugins, warm) {
  if (result.code !== 0) throw invalid(row, result, 'non-zero exit');
  let doc;
  try {
    doc = JSON.parse(result.stdout);
  } catch (error) {
    throw invalid(row, result, `stdout is not one JSON document (${error.message})`);
  }
  if (!Array.isArray(doc.handlers) || doc.handlers.length !== handlers)
    throw invalid(row, result, `expected ${handlers} handlers, got ${doc.handlers?.length}`);
  if (!Array.isArray(doc.rejected) || doc.rejected.length !== 0)
    throw invalid(row, result, `expected no refused plugin, got ${JSON.stringify(doc.rejected).slice(0, 400)}`);
  if (warm) {
    const summary = /"event":"boot\.summary".*$/m.exec(result.stderr);
    const fromCache = summary ? /"fromCache":(\d+)/.exec(summary[0])?.[1] : undefined;
    if (fromCache !== undefined && Number(fromCache) !== plugins)
      throw invalid(row, result, `the cache is not warm: ${fromCache} of ${plugins} plugins from the cache`);
  }
}

export async function main(argv) {
  const opts = options(argv);
  const log = (text) => process.stderr.write(`${text}\n`);
  if (!existsSync(path.join(pkgDir, 'dist', 'bin.js')))
    throw new Error('dist/bin.js is missing: run `npm run build` first (npm run bench:startup does).');
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const m = machine();
  const loadStart = loadavg();
  const startedAt = new Date().toISOString();
  log(`bench startup: ${describeMachine(m)}; load average ${loadStart.join(' ')}`);

  const tempRoot = makeTempRoot();
  const cleanup = cleanupOnExit(tempRoot, log);
  const snapshot = await snapshotBuild(pkgDir, path.join(tempRoot, 'cli'));
  const bin = snapshot.bin;
  const snapDir = path.dirname(path.dirname(bin));
  log(`bench startup: measuring a snapshot of dist/ (sha256 ${snapshot.dist.sha256.slice(0, 12)})`);

  // "The repo": its plugins and config beside the snapshot (so `import 'osml-extensions'` in a
  // plugin resolves to the snapshot), the cache in the snapshot dir, plugin files an hour old so
  // the manifest cache trusts them (see bench/fixtures.mjs).
  cpSync(path.join(pkgDir, 'plugins'), path.join(snapDir, 'plugins'), { recursive: true });
  const past = new Date(Date.now() - 3600_000);
  const age = (p) => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) age(path.join(p, e.name));
      utimesSync(path.join(p, e.name), past, past);
    }
  };
  age(path.join(snapDir, 'plugins'));
  const config = JSON.parse(readFileSync(path.join(pkgDir, 'osml-extensions.config.json'), 'utf8'));
  delete config.$schema;
  writeFileSync(
    path.join(snapDir, 'osml-extensions.config.json'),
    `${JSON.stringify({ ...config, cacheDir: '.bench-cache' }, null, 2)}\n`,
  );
  const fx10 = generate(tempRoot, 10);
  const fx100 = generate(tempRoot, 100);

  const env = cleanEnv();
  const listArgs = (fx) => [bin, 'list', '--json', '--plugins', fx.pluginRoot, '--cwd', fx.cwd];
  const rows = [
    { key: 'node', label: "node -e ''", args: ['-e', ''], cwd: tempRoot },
    { key: 'version', label: '--version', args: [bin, '--version'], cwd: tempRoot },
    { key: 'help', label: '--help', args: [bin, '--help'], cwd: tempRoot },
    { key: 'listRepo', label: 'list --json (repo plugins)', args: [bin, 'list', '--json'], cwd: snapDir },
    { key: 'list10', label: 'list --json (10 plugins)', args: listArgs(fx10), cwd: fx10.cwd, n: 10 },
    { key: 'list100', label: 'list --json (100 plugins)', args: listArgs(fx100), cwd: fx100.cwd, n: 100 },
  ];
  let repoPlugins;
  let repoHandlers;
  const check = (row, r, warm = true) => {
    if (row.key === 'node') {
      if (r.code !== 0) throw invalid(row.label, r, 'non-zero exit');
    } else if (row.key === 'version') {
      if (r.code !== 0 || !r.stdout.includes(pkg.version))
        throw invalid(row.label, r, `expected exit 0 and ${pkg.version}`);
    } else if (row.key === 'help') {
      if (r.code !== 0 || !/usage/i.test(r.stdout)) throw invalid(row.label, r, 'expected exit 0 and a usage text');
    } else if (row.key === 'listRepo') {
      checkList(row.label, r, repoHandlers, repoPlugins, warm);
    } else {
      checkList(row.label, r, 2 * row.n + 2, row.n, warm);
    }
  };

  const results = {};
  for (const row of rows) results[row.key] = { label: row.label, runs: [], cpuRuns: [] };
  const profiles = [];
  try {
    // Warm the caches, and learn what the repo's plugins register.
    const warming = await runTimed(process.execPath, rows[3].args, { cwd: snapDir, env, timeoutMs: opts.timeoutMs });
    if (warming.code !== 0) throw invalid('list --json (repo plugins, warming)', warming, 'non-zero exit');
    const doc = JSON.parse(warming.stdout);
    repoHandlers = doc.handlers.length;
    repoPlugins = /"plugins":(\d+)/.exec(warming.stderr)?.[1];
    repoPlugins = repoPlugins === undefined ? undefined : Number(repoPlugins);
    if (doc.rejected.length !== 0)
      throw invalid('list --json (repo plugins)', warming, `refused: ${JSON.stringify(doc.rejected)}`);
    for (const row of rows.slice(4)) {
      const r = await runTimed(process.execPath, row.args, { cwd: row.cwd, env, timeoutMs: opts.timeoutMs });
      check(row, r, false);
    }
    log(`bench startup: caches warm; ${opts.warmup} warm-up + ${opts.runs} repetitions of ${rows.length} rows`);

    for (let rep = -opts.warmup; rep < opts.runs; rep++) {
      const shift = ((rep % rows.length) + rows.length) % rows.length;
      const order = [...rows.slice(shift), ...rows.slice(0, shift)];
      const line = [];
      for (const row of order) {
        const cpuBefore = childrenCpuMs();
        const r = await runTimed(process.execPath, row.args, { cwd: row.cwd, env, timeoutMs: opts.timeoutMs });
        const cpu = cpuBefore === undefined ? undefined : childrenCpuMs() - cpuBefore;
        check(row, r);
        if (rep >= 0) {
          results[row.key].runs.push(Math.round(r.ms * 100) / 100);
          if (cpu !== undefined) results[row.key].cpuRuns.push(cpu);
        }
        line.push(`${row.key} ${Math.round(r.ms)}`);
      }
      if (rep < 0 || (rep + 1) % 5 === 0 || rep + 1 === opts.runs)
        log(`bench startup: ${rep < 0 ? 'warm-up' : `run ${rep + 1}/${opts.runs}`}: ${line.join(', ')} ms`);
    }

    if (opts.profile) {
      for (const row of [rows[1], rows[4]]) {
        const dir = path.join(tempRoot, `prof-${row.key}`);
        const r = await runTimed(
          process.execPath,
          ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, ...row.args],
          { cwd: row.cwd, env, timeoutMs: opts.timeoutMs },
        );
        check(row, r);
        const [file] = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
        const kept = `${opts.out.replace(/\.json$/, '')}-${row.key}.cpuprofile`;
        mkdirSync(path.dirname(kept), { recursive: true });
        copyFileSync(path.join(dir, file), kept);
        const summary = summarizeProfile(JSON.parse(readFileSync(kept, 'utf8')), 12);
        profiles.push({ row: row.key, file: kept, text: formatProfile(summary, `${row.label} (${kept})`) });
      }
    }
  } catch (error) {
    killChildren();
    cleanup();
    if (error instanceof InvalidRun) {
      log(`bench startup: ABORTED: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  cleanup();

  const haveCpu = results.node.cpuRuns.length > 0;
  for (const r of Object.values(results)) {
    r.ms = summarize(r.runs);
    if (haveCpu) r.cpuMs = summarize(r.cpuRuns);
  }
  const base = results.node.ms.median;
  for (const r of Object.values(results)) {
    r.ratio = r.ms.median / base;
    if (haveCpu) r.cpuRatio = r.cpuMs.median / results.node.cpuMs.median;
  }
  const table = markdownTable(
    [
      'command',
      'wall ms: median (IQR, min–max)',
      "× node -e ''",
      'target',
      'CPU ms: median (IQR, min–max)',
      "CPU × node -e ''",
    ],
    rows.map((row) => {
      const r = results[row.key];
      const t = TARGETS[row.key];
      return [
        row.label,
        fmtMsIqr(r.ms),
        fmtRatio(r.ratio),
        t === undefined ? '' : `≤ ${fmtRatio(t)}`,
        haveCpu ? fmtMsIqr(r.cpuMs) : 'n/a',
        haveCpu ? fmtRatio(r.cpuRatio) : 'n/a',
      ];
    }),
  );
  const targets = Object.entries(TARGETS).map(([key, limit]) => {
    const value = results[key].ratio;
    return { label: `${results[key].label} / node -e ''`, limit, value, status: value <= limit ? 'PASS' : 'MISS' };
  });
  const loadEnd = loadavg();
  const report = [
    '',
    `Machine: ${describeMachine(m)}`,
    `osml-extensions ${pkg.version} (dist sha256 ${snapshot.dist.sha256.slice(0, 12)}); ${opts.runs} repetitions after ${opts.warmup} warm-ups, order rotating; load average ${loadStart.join(' ')} → ${loadEnd.join(' ')}`,
    `Repo plugins: ${repoPlugins ?? '?'} plugins, ${repoHandlers} handlers (built-ins included); every list row with a warm manifest cache.`,
    '',
    table,
    '',
    'CPU: user + system time of the child (cutime + cstime of this process, 10 ms ticks); less sensitive than wall time to other load.',
    '',
    "Targets (issue #13, on wall time: medians over node -e ''s median):",
    ...targets.map((t) => `  ${t.status.padEnd(4)}  ${t.label}: ${fmtRatio(t.value)} (target ≤ ${fmtRatio(t.limit)})`),
    '',
    ...profiles.flatMap((p) => [p.text, '']),
  ];
  process.stdout.write(`${report.join('\n')}\n`);

  const raw = {
    benchmark: 'osml-extensions start-up (issue #13 item 6)',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: m,
    loadavg: { start: loadStart, end: loadEnd },
    build: { dist: snapshot.dist },
    options: { runs: opts.runs, warmup: opts.warmup, quick: opts.quick },
    units: { ms: 'wall time from spawn to exit', cpuMs: 'user + system CPU of the child (cutime + cstime), ms' },
    rows: rows.map((row) => ({ key: row.key, label: row.label, args: row.args.map((a) => path.basename(a)) })),
    results,
    targets,
    profiles: profiles.map((p) => p.file),
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(raw, null, 2)}\n`);
  log(`bench startup: raw results written to ${path.relative(process.cwd(), opts.out)}`);
}
