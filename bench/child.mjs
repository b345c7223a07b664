/**
 * Shared plumbing for the run and start-up benchmarks: timed child processes, long-lived helper
 * servers, the machine's description and the load average.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** An environment without anything that would change what the CLI or Node does. */
export function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const key of [
    'NODE_OPTIONS',
    'NODE_V8_COVERAGE',
    'NODE_DEBUG',
    'REQUEST_TYPE',
    'USE_EXTENSIONS',
    'EXTENSION_FALLBACK_ENABLED',
    'LOG_LEVEL',
  ]) {
    delete env[key];
  }
  return { ...env, ...extra };
}

/** Every child still running, so a signal can stop them all (each by its own pid). */
const running = new Set();

/** Kill the children this process started (benchmark runs and helper servers). */
export function killChildren() {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Spawn `command args` and wait for it. Wall time is from just before the spawn to the child's
 * exit; stdout and stderr are collected until the pipes close. With `usageFile`, the child is
 * expected to write its resource usage there (bench/rss-reporter.mjs) and `usage` holds it.
 */
export function runTimed(command, args, { cwd, env, timeoutMs = 600_000, usageFile } = {}) {
  if (usageFile) rmSync(usageFile, { force: true });
  return new Promise((resolve, reject) => {
    const stdout = [];
    const stderr = [];
    let exitAt;
    let code;
    let signal;
    let timedOut = false;
    const started = performance.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
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
      running.delete(child);
      reject(error);
    });
    child.on('close', () => {
      clearTimeout(timer);
      running.delete(child);
      let usage;
      if (usageFile) {
        try {
          usage = JSON.parse(readFileSync(usageFile, 'utf8'));
        } catch {
          usage = undefined;
        }
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

/**
 * Start a long-lived helper (a model server) and wait until `ready(output)` returns something
 * from what it printed (stdout and stderr together). Resolves `{ child, found, stop }`.
 */
export function startServer(command, args, ready, { env, timeoutMs = 30_000 } = {}) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }).finally(() => running.delete(child));
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within ${timeoutMs} ms: ${output}`));
    }, timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      // Keep draining the pipes after start-up, or a chatty server would block on a full pipe.
      if (done) return;
      const found = ready(output);
      if (found) {
        done = true;
        clearTimeout(timer);
        resolve({ child, found, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      running.delete(child);
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before it was ready: ${output}`));
    });
  });
}

const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/**
 * CPU time (user + system, ms) of this process's reaped children so far: Linux's cutime + cstime
 * from /proc/self/stat, in clock ticks (10 ms on most systems). Read before and after one child
 * runs, the difference is that child's CPU time, which other load on the machine inflates far
 * less than wall time. Undefined where /proc is not available.
 */
export function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of proc(5), counted from the state (field 3) at index 0.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Node, the OS and the CPU, as the reports print them. */
export function machine() {
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

export function describeMachine(m) {
  return `Node ${m.node} (V8 ${m.v8}), ${m.platform}, ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM`;
}

/** The 1, 5 and 15 minute load averages, two decimals. */
export const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

/** Remove `dir` on exit and on SIGINT/SIGTERM/SIGHUP (killing the children first). */
export function cleanupOnExit(dir, log) {
  const cleanup = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killChildren();
      log(`\nbench: ${sig}, removing ${dir}`);
      cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  return cleanup;
}
