/**
 * Integrity pinning, in the manner of npm's and Terraform's lock files: `osml-extensions lock`
 * records an SRI `sha512-…` digest per plugin folder (over its sorted files, path and content)
 * and per file. When a lock exists every plugin is verified before it is imported, and a module
 * load hook verifies each pinned file again as it is loaded, so the bytes that were verified are
 * the bytes that run.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, readlink, realpath, writeFile } from 'node:fs/promises';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import fg from 'fast-glob';
import sjson from 'secure-json-parse';
import { z } from 'zod';
import type { ResolvedConfig } from '../config.js';
import type { PluginCandidate } from './discover.js';
import { ExtensionError } from '../shared/errors.js';
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

/**
 * Every file of a plugin folder (outside node_modules, dot files and symlinks included), sorted
 * by code point. A symlink is pinned by its target text and by the bytes it leads to, so editing
 * a linked file outside the folder, or re-pointing the link, breaks the pin.
 */
async function readFolder(dir: string): Promise<PinnedFile[]> {
  const names = (
    await fg('**', {
      cwd: dir,
      dot: true,
      ignore: ['**/node_modules/**'],
      onlyFiles: false,
      markDirectories: true,
      followSymbolicLinks: false,
    })
  )
    .filter((name) => !name.endsWith('/'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(
    names.map(async (file) => {
      const at = path.join(dir, file);
      const link = (await lstat(at)).isSymbolicLink() ? await readlink(at) : undefined;
      // A link to a folder has no bytes of its own; any other read error refuses the plugin.
      const bytes = await readFile(at).catch((error: NodeJS.ErrnoException) => {
        if (link !== undefined && error.code === 'EISDIR') return Buffer.alloc(0);
        throw error;
      });
      return { file, link, bytes };
    }),
  );
}

/** The pin of a folder as it is now: a digest over path + content of every file, and one per file. */
export async function pinFolder(dir: string, folder: string): Promise<PluginPin> {
  const files = await readFolder(dir);
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
let pins = new Map();
export function initialize({ port }) {
  port.on('message', (message) => { pins = new Map(message.pins); port.postMessage('ok'); });
  port.unref();
}
export async function load(url, context, next) {
  const file = url.split('?')[0];
  const expected = pins.get(file);
  if (expected === undefined) return next(url, context);
  const { readFile } = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  const { fileURLToPath } = await import('node:url');
  const source = await readFile(fileURLToPath(file));
  const actual = 'sha512-' + createHash('sha512').update(source).digest('base64');
  if (actual !== expected) {
    const error = new Error('a pinned file changed after it was verified');
    Object.assign(error, { code: '${INTEGRITY_ERROR}', expected, actual });
    throw error;
  }
  const result = await next(url, context);
  return { ...result, source, shortCircuit: true };
}`;

/**
 * The load hook's failure, recognised by its `code` (own properties survive the hook thread):
 * the file changed after it was verified. `expected` and `actual` are its SRI digests.
 */
export function integrityFailure(cause: unknown): { expected: string; actual: string } | undefined {
  const error = cause as { code?: unknown; expected?: unknown; actual?: unknown } | null;
  if (typeof error !== 'object' || error === null || error.code !== INTEGRITY_ERROR) return undefined;
  return { expected: String(error.expected), actual: String(error.actual) };
}

let hookPort: MessagePort | undefined;

/**
 * Hand the load hook the digests of every verified file (replacing the previous table) and wait
 * until it has them, so no pinned file is loaded unverified. The hook is registered once per process.
 */
async function armLoadHook(pins: [string, string][]): Promise<void> {
  if (hookPort === undefined) {
    const { port1, port2 } = new MessageChannel();
    register(`data:text/javascript,${encodeURIComponent(LOAD_HOOK)}`, { data: { port: port2 }, transferList: [port2] });
    hookPort = port1;
  }
  const port = hookPort;
  await new Promise<void>((resolve) => {
    port.once('message', () => resolve());
    port.postMessage({ pins });
  });
  port.unref();
}

/** An opened lock file. */
export class Lock {
  readonly #dir: string;
  readonly #pins: Map<string, PluginPin>;
  /** File URL → digest of every file of every folder verified so far. */
  readonly #verified: [string, string][] = [];

  private constructor(dir: string, pins: Map<string, PluginPin>) {
    this.#dir = dir;
    this.#pins = pins;
  }

  /** Open the lock file if there is one. A malformed lock is CONFIG_INVALID: it must never be silently ignored. */
  static async open(config: ResolvedConfig): Promise<Lock | undefined> {
    let text: string;
    try {
      text = await readFile(config.lockFile, 'utf8');
    } catch {
      return undefined;
    }
    const where = toSource(config.cwd, config.lockFile);
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
  }

  /** After vetting and before any import: arm the load hook with the verified files. */
  async arm(): Promise<void> {
    if (this.#verified.length > 0) await armLoadHook(this.#verified);
  }
}

/** Write the lock file for these plugin folders. Returns what was pinned. */
export async function writeLock(config: ResolvedConfig, candidates: readonly PluginCandidate[]): Promise<PluginPin[]> {
  const dir = path.dirname(config.lockFile);
  const pins = await Promise.all(
    candidates.map((c) => pinFolder(c.dir, path.relative(dir, c.dir).split(path.sep).join('/'))),
  );
  const data: LockData = { lockfileVersion: 2, plugins: pins.sort((a, b) => (a.folder < b.folder ? -1 : 1)) };
  await writeFile(config.lockFile, `${JSON.stringify(data, null, 2)}\n`);
  return pins;
}
