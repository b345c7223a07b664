/**
 * Discovery: find plugin folders and their entry files with fast-glob. Returns plain data and
 * imports nothing, so it can be tested (and trusted) without running plugin code.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import { ExtensionError, describeThrown, toRejection } from './errors.js';
import { toSource } from './paths.js';
import type { Rejection } from './types.js';

/** Entry file names tried, in order, when a folder's package.json names none. */
export const INDEX_FILES = ['index.js', 'index.mjs', 'index.cjs', 'index.ts', 'index.mts', 'index.cts'] as const;

/** One plugin folder and its entry file. */
export interface PluginCandidate {
  /** Folder name, e.g. `sm-endpoint`. */
  name: string;
  /** Absolute plugin root the folder was found in. */
  root: string;
  /** Absolute path of the plugin folder. */
  dir: string;
  /** Absolute path of the entry file. */
  entry: string;
  /** The entry relative to the working directory, `/`-separated: the plugin's `source`. */
  source: string;
}

/** What discovery found: candidates in deterministic order, and folders it had to refuse. */
export interface DiscoveryResult {
  plugins: PluginCandidate[];
  rejected: Rejection[];
}

/** Options for {@link discover}. */
export interface DiscoverOptions {
  /** Absolute plugin roots, searched in this order. */
  roots: readonly string[];
  /** Base for `source` paths. */
  cwd: string;
  /** Whether the user named the roots; a missing default root is only a warning. @default true */
  rootsNamed?: boolean;
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The entry a package.json names: `exports["."]` (string or import/node/default condition), else `main`. */
function packageEntry(pkg: unknown): string | undefined {
  if (pkg === null || typeof pkg !== 'object') throw new Error('it is not a JSON object');
  const { exports, main } = pkg as { exports?: unknown; main?: unknown };
  let target: unknown = typeof exports === 'object' && exports !== null && '.' in exports ? (exports as Record<string, unknown>)['.'] : exports;
  while (target !== null && typeof target === 'object') {
    const conditions = target as Record<string, unknown>;
    target = conditions['import'] ?? conditions['node'] ?? conditions['default'];
  }
  if (typeof target === 'string') return target;
  if (target !== undefined && target !== null) throw new Error(`"exports" must be a path string, received ${JSON.stringify(target)}`);
  if (typeof main === 'string') return main;
  if (main !== undefined) throw new Error(`"main" must be a path string, received ${JSON.stringify(main)}`);
  return undefined;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Pick one folder's entry from the files the glob saw in it. */
async function entryOf(dir: string, files: ReadonlySet<string>, cwd: string): Promise<string | ExtensionError> {
  if (files.has('package.json')) {
    const pkgFile = path.join(dir, 'package.json');
    let named: string | undefined;
    try {
      named = packageEntry(JSON.parse(await readFile(pkgFile, 'utf8')));
    } catch (cause) {
      return new ExtensionError('PACKAGE_JSON_INVALID', { file: toSource(cwd, pkgFile), problem: describeThrown(cause) }, { cause });
    }
    if (named !== undefined) {
      const entry = path.resolve(dir, named);
      if (await isFile(entry)) return entry;
      return new ExtensionError('ENTRY_NOT_FOUND', { folder: toSource(cwd, dir), tried: [`${toSource(cwd, entry)} (from package.json)`] });
    }
  }
  const index = INDEX_FILES.find((name) => files.has(name));
  if (index !== undefined) return path.join(dir, index);
  return new ExtensionError('ENTRY_NOT_FOUND', { folder: toSource(cwd, dir), tried: ['package.json "exports"/"main"', ...INDEX_FILES] });
}

/** Candidates in one root: direct subfolders, skipping `.*`, `_*` and `node_modules`. */
async function discoverRoot(root: string, cwd: string): Promise<DiscoveryResult> {
  const entries = await fg(['*', `*/{package.json,${INDEX_FILES.join(',')}}`], {
    cwd: root,
    dot: false,
    ignore: ['_*', 'node_modules', '_*/**', 'node_modules/**'],
    followSymbolicLinks: false,
    onlyFiles: false,
    objectMode: true,
  });
  const folders: string[] = [];
  const filesByFolder = new Map<string, Set<string>>();
  for (const entry of entries) {
    const slash = entry.path.indexOf('/');
    if (slash === -1) {
      if (entry.dirent.isDirectory()) folders.push(entry.path);
      continue;
    }
    const folder = entry.path.slice(0, slash);
    const files = filesByFolder.get(folder) ?? new Set<string>();
    files.add(entry.path.slice(slash + 1));
    filesByFolder.set(folder, files);
  }
  folders.sort(byCodePoint);

  const resolved = await Promise.all(
    folders.map((name) => entryOf(path.join(root, name), filesByFolder.get(name) ?? new Set(), cwd)),
  );
  const result: DiscoveryResult = { plugins: [], rejected: [] };
  folders.forEach((name, i) => {
    const dir = path.join(root, name);
    const entry = resolved[i];
    if (entry instanceof ExtensionError) result.rejected.push(toRejection(toSource(cwd, dir), entry));
    else if (entry !== undefined) result.plugins.push({ name, root, dir, entry, source: toSource(cwd, entry) });
  });
  return result;
}

/**
 * Find every plugin folder under the roots: roots in the given order, folders sorted by code
 * point (never filesystem order). A bad folder or root is reported; the rest go on.
 */
export async function discover(options: DiscoverOptions): Promise<DiscoveryResult> {
  const { roots, cwd } = options;
  const result: DiscoveryResult = { plugins: [], rejected: [] };
  for (const root of roots) {
    let received: string | undefined;
    try {
      if (!(await stat(root)).isDirectory()) received = 'not a directory';
    } catch {
      received = 'missing';
    }
    if (received !== undefined) {
      const error = new ExtensionError('ROOT_INVALID', { root: toSource(cwd, root), received });
      result.rejected.push(toRejection(toSource(cwd, root), error, [], options.rootsNamed === false ? 'warn' : 'error'));
      continue;
    }
    const found = await discoverRoot(root, cwd);
    result.plugins.push(...found.plugins);
    result.rejected.push(...found.rejected);
  }
  return result;
}
