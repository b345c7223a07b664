/**
 * A temporary "consumer" project: a folder with its own package.json and a node_modules made of
 * symlinks into this repository's, as a user's project would have after `npm install`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, type CliResult } from './index.js';

/**
 * Link `names` from the repo's node_modules into `dir/node_modules` (scoped names work), and
 * `osml-extensions` itself to the repo root when `self` is set (what `npm install` would give,
 * minus the copy). Only a real node_modules folder keeps the manifest cache inside `dir`.
 */
export async function linkModules(
  dir: string,
  names: readonly string[] | 'all',
  options: { self?: boolean } = {},
): Promise<void> {
  const modules = path.join(dir, 'node_modules');
  await mkdir(modules, { recursive: true });
  const all = names === 'all' ? await repoModules() : names;
  for (const name of all) {
    await mkdir(path.dirname(path.join(modules, name)), { recursive: true });
    await symlink(path.join(ROOT, 'node_modules', name), path.join(modules, name), 'dir');
  }
  if (options.self === true) await symlink(ROOT, path.join(modules, 'osml-extensions'), 'dir');
}

/** Every package in the repo's node_modules, scoped ones as `@scope/name`. */
async function repoModules(): Promise<string[]> {
  const top = (await readdir(path.join(ROOT, 'node_modules'))).filter((n) => !n.startsWith('.'));
  const names: string[] = [];
  for (const name of top) {
    if (!name.startsWith('@')) names.push(name);
    else for (const scoped of await readdir(path.join(ROOT, 'node_modules', name))) names.push(`${name}/${scoped}`);
  }
  return names;
}

/** A consumer project in `dir`: an ESM package.json, as a TypeScript user's project would have. */
export async function consumerPackageJson(dir: string): Promise<void> {
  await writeFile(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`,
  );
}

/** Run a command (no shell) in `cwd`; never rejects. */
export function run(
  file: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeout ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Run the repo's vitest on `dir` as its root (no config file there: vitest's defaults, as in a fresh project). */
export function runVitest(dir: string, args: readonly string[] = []): Promise<CliResult> {
  // CI=true would make an inner run write the outer run's JSON report.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CI: undefined,
    VITEST: undefined,
    VITEST_MODE: undefined,
    VITEST_POOL_ID: undefined,
    VITEST_WORKER_ID: undefined,
    NODE_OPTIONS: undefined,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return run(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir, ...args],
    { cwd: dir, env },
  );
}
