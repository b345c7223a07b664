/**
 * Vetting: the checks a plugin must pass before any of its code runs — containment in its plugin
 * root (by real path), entry size, OpenSSH-style ownership and modes, and the lock file's pins.
 * A refused plugin is never imported; the others go on.
 */
import type { Stats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { mapBounded } from '../shared/concurrency.js';
import type { ResolvedConfig } from '../config.js';
import { FS_CONCURRENCY, type PluginCandidate } from './discover.js';
import { describeThrown, ExtensionError, toRejection } from '../shared/errors.js';
import { kindOf, type Lock } from './lock.js';
import { relativePaths, toSource } from '../shared/paths.js';
import type { Logger } from '../shared/types.js';
import type { Rejection } from '../shared/errors.js';

/** A candidate that passed vetting, with its entry's real path. */
export interface VettedCandidate extends PluginCandidate {
  realEntry: string;
}

/**
 * True when `child` is `parent` or inside it, by whole path segments: `/srv/plugins-evil` is not
 * inside `/srv/plugins`, while `/srv/plugins/a..b.mjs` is. Both must be absolute and normalized
 * (real paths are).
 */
export function isInside(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;

/** Why a file or folder is unsafe to run from, or undefined. */
function insecurity(mode: number, owner: number, isDir: boolean): string | undefined {
  // World-writable is unsafe, except a sticky directory (like /tmp): others cannot replace its files.
  if ((mode & 0o002) !== 0 && !(isDir && (mode & 0o1000) !== 0)) return 'is writable by every user';
  if (uid !== undefined && owner !== uid && owner !== 0) return 'is owned by another user';
  return undefined;
}

/** Check the entry (already stat'ed) and every folder between it and its plugin root; throws INSECURE_PERMISSIONS. */
async function checkPermissions(
  candidate: PluginCandidate,
  realRoot: string,
  realEntry: string,
  entryInfo: FileFacts,
  cwd: string,
): Promise<void> {
  const check = (p: string, info: FileFacts): void => {
    const problem = insecurity(info.mode, info.uid, info.isDirectory());
    if (problem !== undefined) {
      throw new ExtensionError('INSECURE_PERMISSIONS', {
        file: candidate.source,
        path: toSource(cwd, p),
        mode: (info.mode & 0o7777).toString(8).padStart(4, '0'),
        owner: info.uid,
        problem,
      });
    }
  };
  check(realEntry, entryInfo);
  for (let dir = path.dirname(realEntry); dir !== realRoot && isInside(realRoot, dir); dir = path.dirname(dir))
    check(dir, await stat(dir));
}

/** What vetting needs to know about a file: its size, mode, owner and kind. */
type FileFacts = Pick<Stats, 'size' | 'mode' | 'uid' | 'isDirectory' | 'isFile'> & Parameters<typeof kindOf>[0];

const no = (): boolean => false;

/**
 * The entry's real path and stats. The common case, a plain file directly in its folder, costs
 * one lstat (none when discovery already stat'ed it for the cache): its real path is then the
 * folder's (see below) plus its name. Anything else (a symlink, a package.json entry in a
 * subfolder) is resolved with realpath.
 */
async function resolveEntry(
  candidate: PluginCandidate,
  realDir: string,
): Promise<{ realEntry: string; info: FileFacts }> {
  if (path.dirname(candidate.entry) === candidate.dir) {
    const name = path.basename(candidate.entry);
    const known = candidate.files?.find((f) => f.path === name);
    // Discovery stat'ed it (mode and uid are set only when its stat succeeded), and readdir saw a
    // regular file, not a link.
    if (known !== undefined && known.link === false && known.mode !== undefined && known.uid !== undefined) {
      const { size, mode, uid } = known;
      const facts = { isDirectory: no, isFIFO: no, isSocket: no, isCharacterDevice: no, isBlockDevice: no };
      return { realEntry: path.join(realDir, name), info: { size, mode, uid, ...facts, isFile: () => true } };
    }
    const info = await lstat(candidate.entry);
    if (!info.isSymbolicLink()) return { realEntry: path.join(realDir, name), info };
  }
  const realEntry = await realpath(candidate.entry);
  return { realEntry, info: await stat(realEntry) };
}

/** Vet one candidate; throws the ExtensionError that refuses it. */
async function vetOne(
  candidate: PluginCandidate,
  realRoot: string,
  config: ResolvedConfig,
  lock: Lock | undefined,
  logger: Logger,
): Promise<VettedCandidate> {
  const { cwd } = config;
  // Discovery lists only real (non-symlink) direct subfolders, so the folder's real path is
  // the root's real path plus its name: no system call needed.
  const realDir = path.join(realRoot, candidate.name);
  let realEntry: string;
  let info: FileFacts;
  try {
    ({ realEntry, info } = await resolveEntry(candidate, realDir));
  } catch (error) {
    throw fsRefusal(error, candidate, cwd);
  }
  // A FIFO, socket or device (a symlink to one) would block or never end the import and the hash.
  if (!info.isFile()) throw new ExtensionError('SPECIAL_FILE', { file: candidate.source, kind: kindOf(info) });
  // Contained in its own folder, not merely the root: the folder is what the lock pins and the
  // cache fingerprints, so an entry in a sibling folder would run unverified.
  if (!isInside(realDir, realEntry)) {
    throw new ExtensionError('PATH_ESCAPE', {
      folder: toSource(cwd, candidate.dir),
      file: candidate.source,
      real: toSource(cwd, realEntry),
      root: toSource(cwd, candidate.root),
    });
  }
  if (info.size > config.maxEntryBytes)
    throw new ExtensionError('ENTRY_TOO_LARGE', {
      file: candidate.source,
      size: info.size,
      limit: config.maxEntryBytes,
    });
  if (config.permissions !== 'off') {
    try {
      await checkPermissions(candidate, realRoot, realEntry, info, cwd);
    } catch (error) {
      if (config.permissions === 'strict' || !(error instanceof ExtensionError)) throw error;
      logger.warn(
        { event: 'plugin.insecure', source: candidate.source, code: error.code, message: error.message },
        'plugin has insecure permissions (permissions: "warn")',
      );
    }
  }
  if (lock !== undefined) await lock.verify(candidate, config, logger);
  return { ...candidate, realEntry };
}

/** A file-system error while vetting one plugin (an unreadable file, one deleted mid-deploy) refuses that plugin only. */
function fsRefusal(error: unknown, candidate: PluginCandidate, cwd: string): ExtensionError {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT')
    return new ExtensionError('VANISHED', { file: candidate.source }, { cause: error });
  return new ExtensionError(
    'PERMISSION_DENIED',
    { folder: toSource(cwd, candidate.dir), problem: relativePaths(describeThrown(error), cwd) },
    { cause: error },
  );
}

/**
 * Vet every candidate, in order. Refusals are collected, never thrown; VANISHED is a warning.
 */
export async function vet(
  candidates: readonly PluginCandidate[],
  config: ResolvedConfig,
  lock: Lock | undefined,
  logger: Logger,
): Promise<{ plugins: VettedCandidate[]; rejected: Rejection[] }> {
  const realRoots = new Map<string, Promise<string>>();
  const rootOf = (root: string) => {
    let real = realRoots.get(root);
    if (real === undefined) realRoots.set(root, (real = realpath(root)));
    return real;
  };
  // Bounded, so 10,000 plugins do not mean 10,000 open file handles at once; results keep order.
  const results = await mapBounded(
    candidates,
    FS_CONCURRENCY,
    async (candidate): Promise<VettedCandidate | Rejection> => {
      try {
        return await vetOne(candidate, await rootOf(candidate.root), config, lock, logger);
      } catch (thrown) {
        const error = thrown instanceof ExtensionError ? thrown : fsRefusal(thrown, candidate, config.cwd);
        return toRejection(candidate.source, error, [], error.code === 'VANISHED' ? 'warn' : 'error');
      }
    },
  );
  const plugins: VettedCandidate[] = [];
  const rejected: Rejection[] = [];
  for (const result of results) {
    if ('realEntry' in result) plugins.push(result);
    else rejected.push(result);
  }
  return { plugins, rejected };
}
