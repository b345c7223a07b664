/**
 * Discovery: find plugin folders and their entry files with fast-glob. Returns plain data and
 * imports nothing, so it can be tested (and trusted) without running plugin code.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import { mapBounded } from '../shared/concurrency.js';
import sjson from 'secure-json-parse';
import { POISON } from '../config.js';
import { ExtensionError, describeThrown, toRejection } from '../shared/errors.js';
import { toSource } from '../shared/paths.js';
import type { Rejection } from '../shared/errors.js';

/** File-system operations in flight at once during discovery and vetting. */
export const FS_CONCURRENCY = 64;

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
  /** Every file in the folder (outside `node_modules`), when asked for: the cache's fingerprint. */
  files?: FileStat[];
  /** Fingerprint of the root's shared `_*` folders (what plugins import by `../_shared/…`), when asked for. */
  shared?: string;
}

/** A file inside a plugin folder, as the manifest cache fingerprints it. */
export interface FileStat {
  /** Path relative to the plugin folder, `/`-separated. */
  path: string;
  size: number;
  mtimeMs: number;
  /** Changes on every write, and cannot be set back (unlike mtime). */
  ctimeMs: number;
  /** Mode and owner, so vetting can reuse this stat for a plain (non-symlink) entry. */
  mode?: number;
  uid?: number;
  /** True for a symlink, false for a plain file, absent when unknown (below the top level). */
  link?: boolean;
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
  /** Added to a missing root's message: how the root was chosen (e.g. no config file was found). */
  rootNote?: string;
  /** Also list every file of each plugin folder with its size and mtime (for the manifest cache). @default false */
  withFiles?: boolean;
}

/**
 * Control characters (C0, DEL and C1), the line and paragraph separators, or U+FFFD where a name
 * was not valid UTF-8: names that hide in a listing or a log line.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_NAME = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/;
/** Bytes of a file name with everything but printable ASCII escaped as \xNN. */
const escapeBytes = (bytes: Buffer): string =>
  [...bytes]
    .map((b) =>
      b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
    )
    .join('');

/**
 * JavaScript string order, by UTF-16 code unit: the same as code point order except that
 * characters above U+FFFF (surrogate pairs) sort before U+E000–U+FFFF. Never locale order.
 */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The entry a package.json names: `exports["."]` (string or import/node/default condition), else `main`. */
function packageEntry(pkg: unknown): string | undefined {
  if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) throw new Error('it is not a JSON object');
  const { exports, main } = pkg as { exports?: unknown; main?: unknown };
  let target: unknown =
    typeof exports === 'object' && exports !== null && '.' in exports
      ? (exports as Record<string, unknown>)['.']
      : exports;
  while (target !== null && typeof target === 'object') {
    const conditions = target as Record<string, unknown>;
    target = conditions['import'] ?? conditions['node'] ?? conditions['default'];
  }
  if (typeof target === 'string') return target;
  if (target !== undefined && target !== null)
    throw new Error(`"exports" must be a path string, received ${JSON.stringify(target)}`);
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
      named = packageEntry(sjson.parse(await readFile(pkgFile, 'utf8'), POISON));
    } catch (cause) {
      return new ExtensionError(
        'PACKAGE_JSON_INVALID',
        { file: toSource(cwd, pkgFile), problem: describeThrown(cause) },
        { cause },
      );
    }
    if (named !== undefined) {
      const entry = path.resolve(dir, named);
      if (await isFile(entry)) return entry;
      return new ExtensionError('ENTRY_NOT_FOUND', {
        folder: toSource(cwd, dir),
        tried: [`${toSource(cwd, entry)} (from package.json)`],
      });
    }
  }
  const index = INDEX_FILES.find((name) => files.has(name));
  if (index !== undefined) return path.join(dir, index);
  return new ExtensionError('ENTRY_NOT_FOUND', {
    folder: toSource(cwd, dir),
    tried: ['package.json "exports"/"main"', ...INDEX_FILES],
  });
}

/** Fill in size and times; a file that cannot be stat'ed keeps -1, so it never matches a cache entry. */
async function statAll(dir: string, files: FileStat[]): Promise<void> {
  await Promise.all(
    files.map(async (file) => {
      const info = await stat(path.join(dir, file.path)).catch(() => undefined);
      if (info === undefined) return;
      file.size = info.size;
      file.mtimeMs = info.mtimeMs;
      file.ctimeMs = info.ctimeMs;
      file.mode = info.mode;
      file.uid = info.uid;
    }),
  );
}

/** Every file under `dir` (dot files and symlinks included, `node_modules` not), for fingerprints. */
function listAll(dir: string): Promise<string[]> {
  return fg('**', {
    cwd: dir,
    dot: true,
    ignore: ['**/node_modules/**'],
    onlyFiles: false,
    markDirectories: true,
    followSymbolicLinks: false,
    suppressErrors: true,
  }).then((names) => names.filter((name) => !name.endsWith('/')));
}

/** Fingerprint of the shared `_*` folders of a root: any change there invalidates the root's cache entries. */
async function sharedFingerprint(root: string): Promise<string> {
  const names = (
    await fg('_*/**', {
      cwd: root,
      dot: true,
      ignore: ['**/node_modules/**'],
      onlyFiles: false,
      markDirectories: true,
      followSymbolicLinks: false,
      suppressErrors: true,
    })
  )
    .filter((name) => !name.endsWith('/'))
    .sort(byCodePoint);
  if (names.length === 0) return '';
  const files = names.map((name) => ({ path: name, size: -1, mtimeMs: -1, ctimeMs: -1 }));
  await statAll(root, files);
  return createHash('sha256').update(JSON.stringify(files)).digest('base64');
}

/** What one plugin folder holds: its top-level file names, and (for the cache) every file. */
interface FolderListing {
  top: Set<string>;
  all: FileStat[];
}

/**
 * List one plugin folder: a single readdir, plus a fast-glob walk of its subfolders only when the
 * cache needs every file and there are subfolders. Per-folder readdir measured about 3x faster
 * than one fast-glob pattern walk over all folders at 10,000 plugins, and a failure stays local.
 */
async function listFolder(dir: string, withFiles: boolean): Promise<FolderListing | NodeJS.ErrnoException> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  const top = new Set<string>();
  const dotFiles: string[] = [];
  const links = new Set<string>();
  let nested = false;
  for (const entry of entries) {
    const file = entry.isFile() || entry.isSymbolicLink();
    if (entry.isSymbolicLink()) links.add(entry.name);
    if (entry.name.startsWith('.')) {
      // Never an entry, but still part of the fingerprint: a plugin may import ./.generated/x.mjs.
      if (file) dotFiles.push(entry.name);
      else if (entry.isDirectory()) nested = true;
    } else if (file) top.add(entry.name);
    else if (entry.isDirectory() && entry.name !== 'node_modules') nested = true;
  }
  if (!withFiles) return { top, all: [] };
  const names = nested ? await listAll(dir) : [...top, ...dotFiles];
  const all: FileStat[] = names.sort(byCodePoint).map((name) => ({
    path: name,
    size: -1,
    mtimeMs: -1,
    ctimeMs: -1,
    ...(name.includes('/') ? {} : { link: links.has(name) }),
  }));
  await statAll(dir, all);
  return { top, all };
}

/** Candidates in one root: direct subfolders, skipping `.*`, `_*` and `node_modules`. */
async function discoverRoot(root: string, cwd: string, withFiles: boolean): Promise<DiscoveryResult> {
  const folders = await fg('*', {
    cwd: root,
    dot: false,
    ignore: ['_*', 'node_modules'],
    // Directory symlinks are not plugins: they are neither followed nor listed.
    followSymbolicLinks: false,
    onlyDirectories: true,
    suppressErrors: true,
  });
  folders.sort(byCodePoint);

  const result: DiscoveryResult = { plugins: [], rejected: [] };
  const bad = folders.filter((name) => BAD_NAME.test(name));
  if (bad.length > 0) {
    const raw = await readdir(root, { encoding: 'buffer' });
    for (const name of bad) {
      const bytes = raw.find((b) => b.toString('utf8') === name) ?? Buffer.from(name);
      const error = new ExtensionError('BAD_FILENAME', { root: toSource(cwd, root), name: escapeBytes(bytes) });
      result.rejected.push(toRejection(`${toSource(cwd, root)}/${escapeBytes(bytes)}`, error));
    }
  }
  const usable = folders.filter((name) => !BAD_NAME.test(name));
  // Bounded, so 10,000 plugins do not mean 10,000 directory handles at once; results keep order.
  const listed = await mapBounded(
    usable,
    FS_CONCURRENCY,
    async (name): Promise<{ entry: string | ExtensionError; listing?: FolderListing }> => {
      const dir = path.join(root, name);
      const listing = await listFolder(dir, withFiles);
      if (!(listing instanceof Error)) return { entry: await entryOf(dir, listing.top, cwd), listing };
      const denied = listing.code === 'EACCES' || listing.code === 'EPERM';
      return {
        entry: denied
          ? new ExtensionError(
              'PERMISSION_DENIED',
              { folder: toSource(cwd, dir), problem: describeThrown(listing) },
              { cause: listing },
            )
          : new ExtensionError('ENTRY_NOT_FOUND', {
              folder: toSource(cwd, dir),
              tried: [`(the folder could not be read: ${listing.code ?? 'error'})`],
            }),
      };
    },
  );
  const shared = withFiles ? { shared: await sharedFingerprint(root) } : {};
  usable.forEach((name, i) => {
    const dir = path.join(root, name);
    const { entry, listing } = listed[i] as (typeof listed)[number];
    if (entry instanceof ExtensionError) result.rejected.push(toRejection(toSource(cwd, dir), entry));
    else {
      const files = withFiles ? { files: listing?.all ?? [] } : {};
      result.plugins.push({ name, root, dir, entry, source: toSource(cwd, entry), ...files, ...shared });
    }
  });
  return result;
}

/**
 * Find every plugin folder under the roots: roots in the given order, folders sorted by UTF-16
 * code unit (JavaScript string order, never filesystem order). A bad folder or root is reported;
 * the rest go on.
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
      const note = options.rootNote === undefined ? {} : { note: options.rootNote };
      const error = new ExtensionError('ROOT_INVALID', { root: toSource(cwd, root), received, ...note });
      result.rejected.push(
        toRejection(toSource(cwd, root), error, [], options.rootsNamed === false ? 'warn' : 'error'),
      );
      continue;
    }
    const found = await discoverRoot(root, cwd, options.withFiles === true);
    result.plugins.push(...found.plugins);
    result.rejected.push(...found.rejected);
  }
  return result;
}
