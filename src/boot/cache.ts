/**
 * The manifest cache: validated manifests (everything but the class) and refusals, per plugin
 * entry, so a later boot registers unchanged plugins without importing them. Only the chosen
 * pair is imported, when it is instantiated.
 *
 * Never stale: an entry is used only if every file in its plugin folder has the size, mtime and
 * ctime recorded (ctime changes on every write and cannot be set back), and the entry file's
 * content hash still matches when its times changed (a touch, a checkout) or are too recent to
 * trust (git's "racily clean" rule). New, changed and deleted plugins are picked up
 * with no rebuild step. A corrupt or foreign cache file is ignored and rewritten.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { PACKAGE_VERSION } from '../shared/version.js';
import path from 'node:path';
import { z } from 'zod';
import type { FileStat, PluginCandidate } from './discover.js';
import { readRegularFile } from './lock.js';
import { ExtensionError, toRejection, type ErrorCode } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/atomic-write.js';
import type { HandlerInfo } from '../plugin/registry.js';
import { HANDLER_NAME_PATTERN, REQUEST_TYPE_PATTERN } from '../plugin/manifest.js';
import type { Logger } from '../shared/types.js';
import type { Rejection } from '../shared/errors.js';

/** Bump when the file layout changes; with the package and Node versions it forms the cache identity. */
const FORMAT = 2;
const TOOL = `${PACKAGE_VERSION}/node-${process.versions.node}`;
/** An mtime this close to the cache write cannot prove the file did not change within the same tick. */
const RACY_MS = 2000;
/**
 * Refusals about what a plugin exports. Import failures are never cached: a missing package or
 * a missing named export can be fixed outside the plugin folder, so they are retried each boot.
 */
const CACHEABLE = new Set<ErrorCode>(['MANIFEST_MISSING', 'MANIFEST_INVALID']);

/**
 * One cached plugin. Not a zod schema: entries are validated when recorded and the file is
 * trusted by its checksum, so a schema here would only be built at start-up and never used.
 */
interface Entry {
  /** The plugin's `source` when recorded: cached messages are rewritten for today's working directory. */
  source: string;
  /** Fingerprint of the root's shared `_*` folders, which plugins import by relative path. */
  shared: string;
  files: [path: string, size: number, mtimeMs: number, ctimeMs: number][];
  hash: string;
  manifests: HandlerInfo[];
  rejected: { code: ErrorCode; params: Record<string, unknown>; requestTypes: string[] }[];
}
/** The first line of the file; the rest is the JSON array of [entry path, Entry] pairs. */
const headerSchema = z.object({
  format: z.literal(FORMAT),
  tool: z.literal(TOOL),
  writtenAt: z.number(),
  sha256: z.string(),
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64');

/** What the cache knows about an unchanged plugin. */
export interface CachedPlugin {
  manifests: HandlerInfo[];
  rejected: Rejection[];
}

/** Hash of a file's bytes (SHA-256, base64). */
export async function hashFile(file: string): Promise<string> {
  // Only ever a regular file's bytes: a FIFO swapped in after vetting must not block the boot.
  return createHash('sha256')
    .update(await readRegularFile(file, path.basename(file)))
    .digest('base64');
}

type Recorded = readonly [path: string, size: number, mtimeMs: number, ctimeMs: number];
const toRecorded = (f: FileStat): [string, number, number, number] => [f.path, f.size, f.mtimeMs, f.ctimeMs];
const same = (r: Recorded | undefined, f: FileStat | undefined): boolean =>
  r !== undefined && f !== undefined && r[0] === f.path && r[1] === f.size && r[2] === f.mtimeMs && r[3] === f.ctimeMs;

/** Every file but the entry unchanged (same set, sizes and times). */
const sameOtherFiles = (recorded: readonly Recorded[], now: readonly FileStat[], entry: string): boolean => {
  const left = recorded.filter(([p]) => p !== entry);
  const right = now.filter((f) => f.path !== entry);
  return left.length === right.length && left.every((r, i) => same(r, right[i]));
};

const isString = (v: unknown): v is string => typeof v === 'string';
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HANDLER_TYPES: ReadonlySet<unknown> = new Set(['REGION_REQUEST_HANDLER', 'IMAGE_REQUEST_HANDLER']);

/** A cached manifest as the registry needs it: a valid name, request type and handler type. */
function isHandlerInfo(v: unknown): boolean {
  if (!isRecord(v)) return false;
  const { name, requestType, handlerType } = v;
  return (
    isString(name) &&
    HANDLER_NAME_PATTERN.test(name) &&
    isString(requestType) &&
    REQUEST_TYPE_PATTERN.test(requestType) &&
    HANDLER_TYPES.has(handlerType)
  );
}

/**
 * A cheap shape check of one `[entry path, Entry]` pair. The checksum proves the file is one write,
 * not who wrote it: a crafted or damaged cache is discarded and rebuilt, never trusted.
 */
function isEntryPair(pair: unknown): boolean {
  if (!Array.isArray(pair) || pair.length !== 2 || !isString(pair[0]) || !isRecord(pair[1])) return false;
  const e = pair[1];
  return (
    isString(e['source']) &&
    isString(e['shared']) &&
    isString(e['hash']) &&
    Array.isArray(e['files']) &&
    e['files'].every(
      (f: unknown) =>
        Array.isArray(f) &&
        f.length === 4 &&
        isString(f[0]) &&
        isFiniteNumber(f[1]) &&
        isFiniteNumber(f[2]) &&
        isFiniteNumber(f[3]),
    ) &&
    Array.isArray(e['manifests']) &&
    e['manifests'].every(isHandlerInfo) &&
    Array.isArray(e['rejected']) &&
    e['rejected'].every(
      (r: unknown) =>
        isRecord(r) &&
        CACHEABLE.has(r['code'] as ErrorCode) &&
        isRecord(r['params']) &&
        Array.isArray(r['requestTypes']) &&
        r['requestTypes'].every(isString),
    )
  );
}

/** An opened cache file: look up, record, save. */
export class ManifestCache {
  readonly #file: string;
  readonly #entries: Map<string, Entry>;
  readonly #writtenAt: number;
  readonly #logger: Logger;
  #dirty: boolean;

  private constructor(file: string, entries: Map<string, Entry>, writtenAt: number, dirty: boolean, logger: Logger) {
    this.#file = file;
    this.#entries = entries;
    this.#writtenAt = writtenAt;
    this.#dirty = dirty;
    this.#logger = logger;
  }

  /** Open the cache in `dir`; a missing, corrupt or foreign-version file starts empty. */
  static async open(dir: string, logger: Logger): Promise<ManifestCache> {
    const file = path.join(dir, 'manifests.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return new ManifestCache(file, new Map(), 0, true, logger);
    }
    try {
      // Every entry was validated when it was recorded; a checksum over the body proves the file is
      // that same write (not truncated or edited), which is far cheaper than re-validating
      // thousands of manifests on every boot. Entries are pairs read into a Map, never object keys.
      const newline = text.indexOf('\n');
      const header = headerSchema.parse(JSON.parse(text.slice(0, newline)));
      const body = text.slice(newline + 1);
      if (sha256(body) !== header.sha256) throw new Error('checksum mismatch');
      const entries = JSON.parse(body) as unknown;
      if (!Array.isArray(entries) || !entries.every(isEntryPair)) throw new Error('an entry has the wrong shape');
      return new ManifestCache(file, new Map(entries as [string, Entry][]), header.writtenAt, false, logger);
    } catch {
      logger.debug(
        { event: 'cache.discarded', file: path.join(path.basename(dir), 'manifests.json') },
        'manifest cache was corrupt or from another version; rebuilding it',
      );
      return new ManifestCache(file, new Map(), 0, true, logger);
    }
  }

  /** The cached result for a plugin, if nothing in its folder changed. */
  async lookup(candidate: PluginCandidate): Promise<CachedPlugin | undefined> {
    const entry = this.#entries.get(candidate.entry);
    const files = candidate.files;
    if (entry === undefined || files === undefined || entry.shared !== (candidate.shared ?? '')) return undefined;
    const entryPath = path.relative(candidate.dir, candidate.entry).split(path.sep).join('/');
    if (!sameOtherFiles(entry.files, files, entryPath)) return undefined;
    const recorded = entry.files.find(([p]) => p === entryPath);
    const now = files.find((f) => f.path === entryPath);
    if (recorded === undefined || now === undefined || recorded[1] !== now.size) return undefined;
    if (!same(recorded, now) || now.mtimeMs >= this.#writtenAt - RACY_MS) {
      // Touched, copied, or too recent to trust the times: the content decides.
      if ((await hashFile(candidate.entry).catch(() => '')) !== entry.hash) return undefined;
      // Record the new times, and once the file is older than the racy window rewrite the cache,
      // so a later write time stops this file from being hashed on every boot.
      if (!same(recorded, now) || Date.now() - now.mtimeMs > RACY_MS) {
        entry.files = files.map(toRecorded);
        this.#dirty = true;
      }
    }
    try {
      const here = (value: unknown): unknown =>
        typeof value === 'string' ? value.split(entry.source).join(candidate.source) : value;
      const rejected = entry.rejected.map((r) => {
        const params = Object.fromEntries(Object.entries(r.params).map(([key, value]) => [key, here(value)]));
        return toRejection(candidate.source, new ExtensionError(r.code, params as never), r.requestTypes);
      });
      return { manifests: entry.manifests, rejected };
    } catch {
      return undefined;
    }
  }

  /**
   * Record what importing a plugin yielded. `hash` must be of the entry as read before the import,
   * so a change racing the import makes the next boot re-import rather than trust stale data; `''`
   * (the entry could not be read) records nothing.
   */
  record(
    candidate: PluginCandidate,
    hash: string,
    manifests: readonly HandlerInfo[],
    rejected: readonly Rejection[],
  ): void {
    if (candidate.files === undefined) return;
    // An entry that could not be read before the import ('' hash) has no content to vouch for.
    if (hash === '' || rejected.some((r) => !CACHEABLE.has(r.code))) {
      this.#entries.delete(candidate.entry);
    } else {
      this.#entries.set(candidate.entry, {
        source: candidate.source,
        shared: candidate.shared ?? '',
        files: candidate.files.map(toRecorded),
        hash,
        manifests: manifests.map((m) => ({ ...m })),
        rejected: rejected.map((r) => ({
          code: r.code,
          params: r.error.params as Record<string, unknown>,
          requestTypes: r.requestTypes,
        })),
      });
    }
    this.#dirty = true;
  }

  /**
   * Drop one plugin's entry and save at once: its cached manifest proved wrong when the plugin
   * was imported, so the next boot must import it again.
   */
  static async forget(dir: string, entry: string, logger: Logger): Promise<void> {
    const cache = await ManifestCache.open(dir, logger);
    if (cache.#entries.delete(entry)) {
      cache.#dirty = true;
      await cache.save();
    }
  }

  /** Forget entries under the scanned roots that were not discovered this time (deleted plugins). */
  prune(roots: readonly string[], seen: ReadonlySet<string>): void {
    for (const entry of this.#entries.keys()) {
      if (!seen.has(entry) && roots.some((root) => entry.startsWith(root + path.sep))) {
        this.#entries.delete(entry);
        this.#dirty = true;
      }
    }
  }

  /** Write the cache if it changed, atomically (see writeFileAtomic). Failure only logs. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const entries = JSON.stringify([...this.#entries]);
    const body = `${JSON.stringify({ format: FORMAT, tool: TOOL, writtenAt: Date.now(), sha256: sha256(entries) })}\n${entries}`;
    try {
      await mkdir(path.dirname(this.#file), { recursive: true });
      await writeFileAtomic(this.#file, [body]);
      this.#dirty = false;
    } catch (error) {
      this.#logger.debug(
        // Like cache.discarded: no absolute path in a log line (the reason is the errno code).
        {
          event: 'cache.unwritable',
          file: path.join(path.basename(path.dirname(this.#file)), 'manifests.json'),
          reason: (error as NodeJS.ErrnoException).code ?? String(error),
        },
        'could not write the manifest cache',
      );
    }
  }
}
