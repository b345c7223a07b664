/**
 * Vetting: the checks a plugin must pass before any of its code runs — containment in its plugin
 * root (by real path), entry size, OpenSSH-style ownership and modes, and the lock file's pins.
 * A refused plugin is never imported; the others go on.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from './config.js';
import type { PluginCandidate } from './discover.js';
import { ExtensionError, toRejection } from './errors.js';
import type { Lock } from './integrity.js';
import { toSource } from './paths.js';
import type { Logger, Rejection } from './types.js';

/** A candidate that passed vetting, with its entry's real path. */
export interface VettedCandidate extends PluginCandidate {
  realEntry: string;
}

/** True when `child` is `parent` or inside it, compared by path segments (not string prefix). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;

/** Why a file or folder is unsafe to run from, or undefined. */
function insecurity(mode: number, owner: number, isDir: boolean): string | undefined {
  // World-writable is unsafe, except a sticky directory (like /tmp): others cannot replace its files.
  if ((mode & 0o002) !== 0 && !(isDir && (mode & 0o1000) !== 0)) return 'is writable by every user';
  if (uid !== undefined && owner !== uid && owner !== 0) return 'is owned by another user';
  return undefined;
}

/** Check the entry and every folder between it and its plugin root; throws INSECURE_PERMISSIONS. */
async function checkPermissions(candidate: PluginCandidate, realRoot: string, realEntry: string, cwd: string): Promise<void> {
  const paths = [realEntry];
  for (let dir = path.dirname(realEntry); dir !== realRoot && isInside(realRoot, dir); dir = path.dirname(dir)) paths.push(dir);
  for (const p of paths) {
    const info = await stat(p);
    const problem = insecurity(info.mode, info.uid, info.isDirectory());
    if (problem !== undefined) {
      throw new ExtensionError('INSECURE_PERMISSIONS', { file: candidate.source, path: toSource(cwd, p), mode: (info.mode & 0o7777).toString(8).padStart(4, '0'), owner: info.uid, problem });
    }
  }
}

/** Vet one candidate; throws the ExtensionError that refuses it. */
async function vetOne(candidate: PluginCandidate, realRoot: string, config: ResolvedConfig, lock: Lock | undefined, logger: Logger): Promise<VettedCandidate> {
  const { cwd } = config;
  let realEntry: string;
  try {
    realEntry = await realpath(candidate.entry);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ExtensionError('VANISHED', { file: candidate.source });
    throw new ExtensionError('PERMISSION_DENIED', { folder: toSource(cwd, candidate.dir), problem: String((error as Error).message) }, { cause: error });
  }
  if (!isInside(realRoot, realEntry)) {
    throw new ExtensionError('PATH_ESCAPE', { folder: toSource(cwd, candidate.dir), file: candidate.source, real: toSource(cwd, realEntry), root: toSource(cwd, candidate.root) });
  }
  const { size } = await stat(realEntry);
  if (size > config.maxEntryBytes) throw new ExtensionError('ENTRY_TOO_LARGE', { file: candidate.source, size, limit: config.maxEntryBytes });
  if (config.permissions !== 'off') {
    try {
      await checkPermissions(candidate, realRoot, realEntry, cwd);
    } catch (error) {
      if (config.permissions === 'strict' || !(error instanceof ExtensionError)) throw error;
      logger.warn({ event: 'plugin.insecure', source: candidate.source, code: error.code, message: error.message }, 'plugin has insecure permissions (permissions: "warn")');
    }
  }
  if (lock !== undefined) await lock.verify(candidate, config, logger);
  return { ...candidate, realEntry };
}

/**
 * Vet every candidate, in order. Refusals are collected, never thrown; VANISHED is a warning.
 */
export async function vet(candidates: readonly PluginCandidate[], config: ResolvedConfig, lock: Lock | undefined, logger: Logger): Promise<{ plugins: VettedCandidate[]; rejected: Rejection[] }> {
  const realRoots = new Map<string, Promise<string>>();
  const rootOf = (root: string) => {
    let real = realRoots.get(root);
    if (real === undefined) realRoots.set(root, (real = realpath(root)));
    return real;
  };
  const results = await Promise.all(
    candidates.map(async (candidate) => {
      try {
        return await vetOne(candidate, await rootOf(candidate.root), config, lock, logger);
      } catch (error) {
        if (!(error instanceof ExtensionError)) throw error;
        return toRejection(candidate.source, error, [], error.code === 'VANISHED' ? 'warn' : 'error');
      }
    }),
  );
  const plugins: VettedCandidate[] = [];
  const rejected: Rejection[] = [];
  for (const result of results) {
    if ('realEntry' in result) plugins.push(result);
    else rejected.push(result);
  }
  return { plugins, rejected };
}
