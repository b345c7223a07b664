/**
 * Integrity pinning, in the manner of npm's and Terraform's lock files: `osml-extensions lock`
 * records an SRI `sha512-…` digest per plugin folder (over its sorted files, path and content)
 * and per file. When a lock exists every plugin is verified before it is imported, and a module
 * load hook verifies each pinned file again as it is loaded, so the bytes that were verified are
 * the bytes that run.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import sjson from 'secure-json-parse';
import { z } from 'zod';
import type { ResolvedConfig } from '../config.js';
import type { PluginCandidate } from './discover.js';
import { ExtensionError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/atomic-write.js';
import { toSource } from '../shared/paths.js';
import type { Logger } from '../shared/types.js';

/** The lock file layout. Plugins are keyed by folder, relative to the lock file, `/`-separated. */
const lockSchema = z.strictObject({
  lockfileVersion: z.literal(2),
  plugins: z.array(
    z.strictObject({ folder: z.string(), integrity: z.string(), files: z.array(z.tuple([z.string(), z.string()])) }),
  ),
});
type LockData = z.infer<typeof lockSchema>;
type PluginPin = LockData['plugins'][number];

/** SRI digest of some bytes. */
const sri = (data: Buffer | string): string => `sha512-${createHash('sha512').update(data).digest('base64')}`;

/** One file of a pinned folder: its path, its symlink target if it is one, and its bytes. */
interface PinnedFile {
  file: string;
  link: string | undefined;
  bytes: Buffer;
}

/** How a special file is named in a refusal. */
export function kindOf(stats: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * The bytes of a regular file, refusing anything else before reading: opened non-blocking (a FIFO
 * swapped in after a check cannot block the open), then typed by the open handle itself, then
 * read to the size that handle reports (a device can never be read without bound).
 */
export async function readRegularFile(file: string, shown: string): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ExtensionError('SPECIAL_FILE', { file: shown, kind: kindOf(stats) });
    const bytes = Buffer.alloc(stats.size);
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await handle.read(bytes, read, bytes.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/**
 * Every name under `dir`, whatever its characters, node_modules and dot files included; sorted in
 * JavaScript string order (UTF-16 code units).
 */
async function listAll(dir: string, shown: string, rel = ''): Promise<{ file: string; link: boolean }[]> {
  const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: { file: string; link: boolean }[] = [];
  for (const entry of entries) {
    const file = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await listAll(dir, shown, file)));
    else if (entry.isFile() || entry.isSymbolicLink()) found.push({ file, link: entry.isSymbolicLink() });
    else
      throw new ExtensionError('SPECIAL_FILE', {
        file: `${shown}/${file}`,
        kind: kindOf(await lstat(path.join(dir, file))),
      });
  }
  return found;
}

/**
 * Every file of a plugin folder (its node_modules, dot files and symlinks included), sorted by code
 * point. A symlink is pinned by its target text and by the bytes it leads to, so editing a linked
 * file outside the folder, or re-pointing the link, breaks the pin. A FIFO, socket or device
 * anywhere in the folder refuses it (SPECIAL_FILE) before anything opens it.
 */
async function readFolder(dir: string, shown: string): Promise<PinnedFile[]> {
  const names = await listAll(dir, shown);
  return Promise.all(
    names.map(async ({ file, link }) => {
      const at = path.join(dir, file);
      const target = link ? await readlink(at) : undefined;
      // A link to a folder has no bytes of its own (the folder's files are not pinned through it).
      if (target !== undefined && (await stat(at).catch(() => undefined))?.isDirectory() === true) {
        return { file, link: target, bytes: Buffer.alloc(0) };
      }
      return { file, link: target, bytes: await readRegularFile(at, `${shown}/${file}`) };
    }),
  );
}

/** The pin of a folder as it is now: a digest over path + content of every file, and one per file. */
export async function pinFolder(dir: string, folder: string): Promise<PluginPin> {
  const files = await readFolder(dir, folder);
  const hash = createHash('sha512');
  for (const { file, link, bytes } of files) hash.update(`${file}\0${link ?? ''}\0${bytes.length}\0`).update(bytes);
  return {
    folder,
    integrity: `sha512-${hash.digest('base64')}`,
    files: files.map(({ file, bytes }) => [file, sri(bytes)]),
  };
}

/** The `code` of the load hook's integrity failure. */
const INTEGRITY_ERROR = 'ERR_OSML_INTEGRITY';

const LOAD_HOOK = `
import { readFile, realpath } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
let pins = new Map();
let folders = [];
export function initialize({ port }) {
  port.on('message', (message) => {
    pins = new Map(message.pins);
    folders = message.folders;
    port.postMessage('ok');
  });
  port.unref();
}
const strip = (url) => url.split('?')[0].split('#')[0];
const inside = (file) => folders.some((folder) => file === folder || file.startsWith(folder + '/'));
const refuse = (detail) => Object.assign(new Error(detail), { code: '${INTEGRITY_ERROR}', expected: 'pinned', actual: 'unpinned', detail });
const pathOf = (url) => { try { return url.startsWith('file:') ? fileURLToPath(strip(url)) : undefined; } catch { return undefined; } };
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (pins.size === 0 || !result.url.startsWith('file:')) return result;
  const file = strip(result.url);
  if (pins.has(file)) return result;
  const target = pathOf(result.url);
  if (target !== undefined && inside(target)) throw refuse('a module inside a pinned plugin folder is not in its pin');
  // Plugin code (or a plugin entry) reaching a file by path, not a package the host resolves.
  const parent = context.parentURL === undefined ? undefined : strip(context.parentURL);
  const byPath = /^(\\.{1,2}\\/|\\/|file:)/.test(specifier);
  const given = pathOf(specifier.startsWith('file:') ? specifier : 'x:');
  const fromPlugin = (parent !== undefined && pins.has(parent)) || (given !== undefined && inside(given));
  if (fromPlugin && byPath) throw refuse('a module a plugin loads by path resolves outside its pinned folder');
  return result;
}
export async function load(url, context, next) {
  const file = strip(url);
  const expected = pins.get(file);
  if (expected === undefined) return next(url, context);
  const source = await readFile(fileURLToPath(file));
  const actual = 'sha512-' + createHash('sha512').update(source).digest('base64');
  if (actual !== expected) {
    const error = new Error('a pinned file changed after it was verified');
    Object.assign(error, { code: '${INTEGRITY_ERROR}', expected, actual, detail: 'a file changed after it was verified' });
    throw error;
  }
  const result = await next(url, context);
  return { ...result, source, shortCircuit: true };
}`;

/**
 * The load hook's failure, recognised by its `code` (own properties survive the hook thread):
 * the file changed after it was verified. `expected` and `actual` are its SRI digests.
 */
export function integrityFailure(cause: unknown): { expected: string; actual: string; detail: string } | undefined {
  const error = cause as { code?: unknown; expected?: unknown; actual?: unknown; detail?: unknown } | null | undefined;
  if (error?.code !== INTEGRITY_ERROR) return undefined;
  const detail = typeof error.detail === 'string' ? error.detail : 'a file changed after it was verified';
  return { expected: String(error.expected), actual: String(error.actual), detail };
}

let hookPort: MessagePort | undefined;

/**
 * Hand the load hook the digests of every verified file (replacing the previous table) and wait
 * until it has them, so no pinned file is loaded unverified. The hook is registered once per process.
 */
async function armLoadHook(pins: [string, string][], folders: string[]): Promise<void> {
  if (hookPort === undefined) {
    const { port1, port2 } = new MessageChannel();
    register(`data:text/javascript,${encodeURIComponent(LOAD_HOOK)}`, { data: { port: port2 }, transferList: [port2] });
    hookPort = port1;
  }
  const port = hookPort;
  await new Promise<void>((resolve) => {
    port.once('message', () => resolve());
    port.postMessage({ pins, folders });
  });
  port.unref();
}

/** An opened lock file. */
export class Lock {
  readonly #dir: string;
  readonly #pins: Map<string, PluginPin>;
  /** File URL → digest of every file of every folder verified so far. */
  readonly #verified: [string, string][] = [];
  /** The verified folders, as given and by real path: nothing unpinned loads from inside them. */
  readonly #folders = new Set<string>();

  private constructor(dir: string, pins: Map<string, PluginPin>) {
    this.#dir = dir;
    this.#pins = pins;
  }

  /** Open the lock file if there is one. A malformed lock is CONFIG_INVALID: it must never be silently ignored. */
  static async open(config: ResolvedConfig): Promise<Lock | undefined> {
    const where = toSource(config.cwd, config.lockFile);
    let text: string;
    try {
      text = (await readRegularFile(config.lockFile, where)).toString('utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A lock that is a FIFO, a folder or unreadable must never be taken as "no lock".
      const problem = cause instanceof ExtensionError ? cause.message : `it cannot be read (${String(cause)})`;
      throw new ExtensionError('CONFIG_INVALID', { where, problems: [problem] }, { cause });
    }
    let data: LockData;
    try {
      data = lockSchema.parse(sjson.parse(text, { protoAction: 'error', constructorAction: 'error' }));
    } catch (cause) {
      throw new ExtensionError(
        'CONFIG_INVALID',
        { where, problems: ['the lock file is malformed; run `osml-extensions lock` to rewrite it'] },
        { cause },
      );
    }
    return new Lock(path.dirname(config.lockFile), new Map(data.plugins.map((p) => [p.folder, p])));
  }

  #key(dir: string): string {
    return path.relative(this.#dir, dir).split(path.sep).join('/');
  }

  /** Pinned folders that no candidate matched: lock drift to report. */
  missing(candidates: readonly PluginCandidate[]): string[] {
    const seen = new Set(candidates.map((c) => this.#key(c.dir)));
    return [...this.#pins.keys()].filter((folder) => !seen.has(folder));
  }

  /**
   * Verify a plugin folder against its pin: UNPINNED or INTEGRITY_MISMATCH, unless it matches.
   * On success its files are handed to the load hook, which checks them again as they load.
   */
  async verify(candidate: PluginCandidate, config: ResolvedConfig, logger: Logger): Promise<void> {
    const pin = this.#pins.get(this.#key(candidate.dir));
    if (pin === undefined) {
      const error = new ExtensionError('UNPINNED', { file: candidate.source });
      if (!config.allowUnpinned) throw error;
      logger.warn(
        { event: 'plugin.unpinned', source: candidate.source, code: error.code },
        'plugin is not pinned (allowUnpinned: true)',
      );
      return;
    }
    const now = await pinFolder(candidate.dir, pin.folder);
    if (now.integrity !== pin.integrity) {
      const before = new Map(pin.files);
      const after = new Map(now.files);
      const changed = [...after].filter(([f, d]) => before.has(f) && before.get(f) !== d).map(([f]) => f);
      const extra = [...after.keys()].filter((f) => !before.has(f));
      const gone = [...before.keys()].filter((f) => !after.has(f));
      const detail = [
        changed.length ? `changed: ${changed.join(', ')}` : '',
        extra.length ? `extra: ${extra.join(', ')}` : '',
        gone.length ? `missing: ${gone.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      throw new ExtensionError('INTEGRITY_MISMATCH', {
        file: candidate.source,
        expected: pin.integrity.slice(0, 19),
        actual: now.integrity.slice(0, 19),
        detail: detail || 'content differs',
      });
    }
    // Node hands the load hook real paths, so the pins are keyed by real path too (a symlinked
    // working directory or file must not slip past the check).
    const real = await Promise.all(
      pin.files.map(([file]) => realpath(path.join(candidate.dir, file)).catch(() => path.join(candidate.dir, file))),
    );
    pin.files.forEach(([, digest], i) => this.#verified.push([pathToFileURL(real[i] as string).href, digest]));
    this.#folders.add(candidate.dir);
    this.#folders.add(await realpath(candidate.dir).catch(() => candidate.dir));
  }

  /** After vetting and before any import: arm the load hook with the verified files. */
  async arm(): Promise<void> {
    if (this.#verified.length > 0) await armLoadHook(this.#verified, [...this.#folders]);
  }
}

/** Write the lock file for these plugin folders. Returns what was pinned. */
export async function writeLock(config: ResolvedConfig, candidates: readonly PluginCandidate[]): Promise<PluginPin[]> {
  const dir = path.dirname(config.lockFile);
  const pins = await Promise.all(
    candidates.map((c) => pinFolder(c.dir, path.relative(dir, c.dir).split(path.sep).join('/'))),
  );
  const data: LockData = { lockfileVersion: 2, plugins: pins.sort((a, b) => (a.folder < b.folder ? -1 : 1)) };
  // Atomically: a lock half written by an interrupted run would refuse every plugin (CONFIG_INVALID).
  await writeFileAtomic(config.lockFile, [`${JSON.stringify(data, null, 2)}\n`]);
  return pins;
}
