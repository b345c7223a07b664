/**
 * The one table of error codes, and the only place messages are built.
 *
 * Every message says what failed, where (a relative path, a variable or a handler name),
 * what was received, and how to fix it.
 */
import type { Source } from './types.js';

/** Parameters shared by the handler-selection errors: plugins that were refused for a type. */
interface Refusals {
  /** Rejected plugins that had declared the request type in question. */
  refused: readonly { source: string; code: string }[];
}

const refusedNote = ({ refused }: Refusals): string =>
  refused.length === 0
    ? ''
    : ` Note: ${refused.map((r) => `${r.source} (${r.code})`).join(', ')} declared it but ${refused.length === 1 ? 'was' : 'were'} refused; fix ${refused.length === 1 ? 'that plugin' : 'those plugins'} first.`;

const list = (items: readonly string[]): string => (items.length === 0 ? '(none)' : items.join(', '));

/**
 * Each code: a one-line summary (for the README table), whether it is a plugin problem
 * (reported per plugin, boot goes on) or a selection/usage problem, and its message builder.
 */
const TABLE = {
  CONFIG_INVALID: {
    summary: 'A config file, a CLI option or an environment variable is malformed.',
    message: (p: { where: string; problems: readonly string[] }) =>
      `Invalid configuration in ${p.where}: ${p.problems.join('; ')}. Fix the value (see README "Configuration").`,
  },
  USAGE_INVALID: {
    summary: 'The command line could not be understood.',
    message: (p: { problem: string }) => `${p.problem}. Run \`osml-extensions --help\` for usage.`,
  },
  PLUGINS_REJECTED: {
    summary: 'Strict mode: at least one plugin was refused, so the command fails.',
    message: (p: { sources: readonly string[] }) =>
      `Strict mode: ${p.sources.length} plugin(s) were refused: ${list(p.sources)}. Fix them (see \`osml-extensions check\`) or turn off \`strict\`.`,
  },
  ROOT_INVALID: {
    summary: 'A plugin root is missing or not a directory.',
    message: (p: { root: string; received: string; note?: string }) =>
      `Plugin root ${p.root} is ${p.received}${p.note === undefined ? '' : ` (${p.note})`}. Create the folder or remove it from \`pluginDirs\`.`,
  },
  ENTRY_NOT_FOUND: {
    summary: 'A plugin folder has no entry file.',
    message: (p: { folder: string; tried: readonly string[] }) =>
      `Plugin folder ${p.folder} has no entry file (looked for ${list(p.tried)}). Add an index.mjs, or set "main" in its package.json; rename the folder to start with "_" to skip it.`,
  },
  PACKAGE_JSON_INVALID: {
    summary: "A plugin's package.json cannot be read or names no usable entry.",
    message: (p: { file: string; problem: string }) =>
      `Cannot use ${p.file}: ${p.problem}. Make it valid JSON with a string "main" or "exports".`,
  },
  IMPORT_FAILED: {
    summary: 'Importing a plugin entry threw (syntax error, throw at top level, missing import).',
    message: (p: { file: string; reason: string; fix?: string }) =>
      `Importing ${p.file} failed: ${p.reason}. ${p.fix ?? 'Fix that file'}, then run \`osml-extensions check\`.`,
  },
  IMPORT_TIMEOUT: {
    summary:
      'Importing a plugin entry did not finish within `importTimeoutMs` (a hanging top-level await, or a loop caught by the probe).',
    message: (p: { file: string; timeoutMs: number; how: string }) =>
      `Importing ${p.file} did not finish within ${p.timeoutMs} ms (${p.how}); it is not imported again in this process. Make its top level finish quickly (no awaiting servers or timers at import), or raise \`importTimeoutMs\`.`,
  },
  VANISHED: {
    summary: 'A plugin entry disappeared between discovery and import (a deploy in progress).',
    message: (p: { file: string }) =>
      `${p.file} was found but had disappeared when it was imported. If a deploy was in progress, start again when it is done.`,
  },
  ENTRY_TOO_LARGE: {
    summary: 'A plugin entry is larger than `maxEntryBytes`; it is never imported.',
    message: (p: { file: string; size: number; limit: number }) =>
      `${p.file} is ${p.size} bytes, over the \`maxEntryBytes\` limit of ${p.limit}; it was not imported. Split it into modules, or raise \`maxEntryBytes\` if it is meant to be that large.`,
  },
  PATH_ESCAPE: {
    summary:
      "A plugin entry's real path lies outside its plugin folder (a symlink, or `../` in package.json); it is never imported.",
    message: (p: { folder: string; file: string; real: string; root: string }) =>
      `The entry of plugin ${p.folder} (${p.file}) resolves to ${p.real}, outside that plugin folder (root ${p.root}); it was not imported. Copy the code into the plugin folder instead of linking or pointing outside it.`,
  },
  PERMISSION_DENIED: {
    summary: 'A plugin folder or entry cannot be read by this user.',
    message: (p: { folder: string; problem: string }) =>
      `Cannot read ${p.folder}: ${p.problem}. Give the user running osml-extensions read access (chmod/chown), or remove the folder.`,
  },
  BAD_FILENAME: {
    summary: 'A plugin folder name is not valid UTF-8 or contains control characters.',
    message: (p: { root: string; name: string }) =>
      `The folder ${p.root}/${p.name} (bytes escaped) has a name that is not valid UTF-8 or contains control characters; it was skipped. Rename it to plain printable characters.`,
  },
  INSECURE_PERMISSIONS: {
    summary:
      'A plugin entry, or a folder between it and its root, is writable by others or owned by another user (config `permissions`).',
    message: (p: { file: string; path: string; mode: string; owner: number; problem: string }) =>
      `${p.file} is not safe to run: ${p.path} ${p.problem} (mode ${p.mode}, owner uid ${p.owner}). Run \`chmod o-w\` / \`chown\` on it, or set \`permissions\` to "warn" if this is intended.`,
  },
  SPECIAL_FILE: {
    summary:
      'A plugin folder (or the lock file) holds a FIFO, socket or device where a file is expected; it is refused before anything opens it.',
    message: (p: { file: string; kind: string }) =>
      `${p.file} is ${p.kind}, not a regular file; it was not read. Remove it from the plugin folder (a plugin's files must be plain files, folders or links to them).`,
  },
  INTEGRITY_MISMATCH: {
    summary:
      'A plugin differs from its pin in `osml-extensions.lock.json` (a changed, missing or extra file); it is never imported.',
    message: (p: { file: string; expected: string; actual: string; detail: string }) =>
      `${p.file} does not match its pin in osml-extensions.lock.json (${p.detail}; expected ${p.expected}…, got ${p.actual}…); it was not imported. If the change is yours, run \`osml-extensions lock\` again.`,
  },
  UNPINNED: {
    summary: 'A lock file exists but this plugin is not in it (refused unless `allowUnpinned`).',
    message: (p: { file: string }) =>
      `${p.file} is not pinned in osml-extensions.lock.json; it was not imported. Run \`osml-extensions lock\` to pin it, or set \`allowUnpinned: true\`.`,
  },
  SELECTED_PLUGIN_REFUSED: {
    summary: 'The request type in force was declared by a plugin that was refused, even if another copy registered.',
    message: (p: { requestType: string; refused: readonly { source: string; code: string }[] }) =>
      `Request type "${p.requestType}" is in force, but ${p.refused.map((r) => `${r.source} (${r.code})`).join(', ')} declared it and was refused. Fix that plugin, remove it, or enable \`fallbackEnabled\`.`,
  },
  MANIFEST_MISSING: {
    summary: 'A plugin entry exports no manifest and no decorated class.',
    message: (p: { file: string; exports: readonly string[]; decoratedButNotExported?: boolean }) =>
      p.decoratedButNotExported === true
        ? `${p.file} decorates a class with registerHandler() but exports no handler manifest (its exports: ${list(p.exports)}). Export the decorated class (\`export class …\`): the loader only sees what the module exports.`
        : `${p.file} exports no handler manifest (its exports: ${list(p.exports)}). Export \`default\`, \`manifest\` or \`manifests\`, or decorate a class with registerHandler().`,
  },
  MANIFEST_INVALID: {
    summary:
      'A manifest fails validation (unknown key, wrong type, bad pattern, handler not a class or lacking its method).',
    message: (p: { file: string; problems: readonly string[] }) =>
      `Invalid handler manifest in ${p.file}: ${p.problems.join('; ')}. Fix those fields (see README "Manifest fields").`,
  },
  MANIFEST_CHANGED: {
    summary: 'A handler registered from the manifest cache is no longer what its plugin provides.',
    message: (p: { name: string; file: string; problem: string }) =>
      `Handler "${p.name}" was registered from the manifest cache, but ${p.file} no longer provides it unchanged (${p.problem}). Its manifest likely depends on something outside its folder; run again to refresh the cache, or use \`--no-cache\`.`,
  },
  DUPLICATE_SLOT: {
    summary: 'A second handler claims a (request type, handler type) slot that is already filled.',
    message: (p: {
      requestType: string;
      handlerType: string;
      name: string;
      file: string;
      keptName: string;
      keptSource: string;
    }) =>
      `${p.file} registers "${p.name}" as ${p.handlerType} for request type "${p.requestType}", but that slot is already filled by "${p.keptName}" from ${p.keptSource}; kept "${p.keptName}". Use another request type, or remove or disable one of the two.`,
  },
  DUPLICATE_NAME: {
    summary: 'A handler name is already taken in the registry.',
    message: (p: { name: string; file: string; keptSource: string }) =>
      `${p.file} registers a handler named "${p.name}", but ${p.keptSource} already registered that name; kept the first. Rename one of them.`,
  },
  UNKNOWN_REQUEST_TYPE: {
    summary: 'The request type in force has no registered handlers.',
    message: (
      p: Refusals & {
        requestType: string;
        from: string;
        known: readonly string[];
        suggestion: string | undefined;
        extensionsOff: boolean;
        /** Plugins that failed before saying which request types they serve: one may have been meant. */
        unreadable?: readonly { source: string; code: string }[];
      },
    ) =>
      `Unknown request type "${p.requestType}" (from ${p.from}); known: ${list(p.known)}.` +
      (p.suggestion === undefined ? '' : ` Did you mean "${p.suggestion}"?`) +
      (p.extensionsOff
        ? ' Plugins are turned off (`USE_EXTENSIONS`/`useExtensions` is false), so only built-ins exist.'
        : ' Add a plugin for it or pick a known type.') +
      refusedNote(p) +
      (p.unreadable === undefined || p.unreadable.length === 0
        ? ''
        : ` These plugins could not be loaded, so their request types are unknown; one may serve it: ${p.unreadable.map((r) => `${r.source} (${r.code})`).join(', ')}.`),
  },
  INCOMPLETE_REQUEST_TYPE: {
    summary: 'The request type in force lacks its region or image handler.',
    message: (p: Refusals & { requestType: string; from: string; missing: string; present: string }) =>
      `Request type "${p.requestType}" (from ${p.from}) has no ${p.missing}; only ${p.present} is registered. Add the missing handler to a plugin.` +
      refusedNote(p),
  },
  ENDPOINT_UNSUPPORTED: {
    summary: 'A chosen handler does not list the endpoint type in its `supportedEndpoints`.',
    message: (p: { endpoint: string; name: string; source: string; supported: readonly string[] }) =>
      `Handler "${p.name}" (${p.source}) does not support endpoint type "${p.endpoint}"; it supports ${list(p.supported)}. Pick another request type or add the endpoint type to its \`supportedEndpoints\`.`,
  },
  DEPENDENCY_MISSING: {
    summary: 'The host did not provide a service a handler `requires`.',
    message: (p: { name: string; source: string; missing: readonly string[]; available: readonly string[] }) =>
      `Handler "${p.name}" (${p.source}) requires ${list(p.missing)}, which the host did not provide (provided: ${list(p.available)}). Pass them in the deps object, or remove them from \`requires\`.`,
  },
  HANDLER_CONSTRUCTION_FAILED: {
    summary: "A handler's constructor threw.",
    message: (p: { name: string; source: string; reason: string }) =>
      `Constructing handler "${p.name}" (${p.source}) failed: ${p.reason}. Fix its constructor or the deps it receives.`,
  },
  WATCH_FAILED: {
    summary: 'Live reload cannot watch a plugin root (missing, or the watcher failed).',
    message: (p: { root: string; reason: string }) =>
      `Cannot watch plugin root ${p.root} for changes: ${p.reason}. Create the folder and restart, or remove it from \`pluginDirs\`.`,
  },
  RELOAD_LIMIT: {
    summary: 'Live reload stopped after `maxReloads` reloads: Node cannot unload old plugin modules.',
    message: (p: { maxReloads: number }) =>
      `Live reload stopped after ${p.maxReloads} reloads (\`maxReloads\`): Node cannot unload ES modules, so every reload keeps the previous plugin code in memory. Restart the process to pick up further changes, or raise \`maxReloads\`.`,
  },
  TARGET_EXISTS: {
    summary: '`init` would write into a folder that already exists; nothing is overwritten.',
    message: (p: { target: string }) =>
      `${p.target} already exists, and \`init\` never overwrites. Pick another name or \`--dir\`, or move that folder away first.`,
  },
  // RUNNER-CODES-START
  REQUEST_INVALID: {
    summary:
      'An image request (`run --request`, `runImage`) or a `run` option is malformed; every bad field is listed.',
    message: (p: { where: string; problems: readonly string[] }) =>
      `Invalid image request in ${p.where}: ${p.problems.join('; ')}. Fix those fields (see docs/runner.md "The ImageRequest").`,
  },
  IMAGE_UNREADABLE: {
    summary: 'The image cannot be opened or decoded (missing, truncated, not an image, download failed).',
    message: (p: { image: string; reason: string }) =>
      `Cannot read image ${p.image}: ${p.reason}. Check the path or URL and that the file is a complete GeoTIFF (or another format sharp reads).`,
  },
  IMAGE_UNSUPPORTED: {
    summary:
      'The image opens but cannot be processed as it is (zero size, too large, a pixel type or band layout the runner does not handle).',
    message: (p: { image: string; problem: string }) => `Cannot process image ${p.image}: ${p.problem}.`,
  },
  UNSUPPORTED: {
    summary:
      'A request asks for a feature this runner does not provide (an output type, a tile format, an image URL scheme).',
    message: (p: { field: string; received: string; supported: readonly string[] }) =>
      `\`${p.field}\` ${p.received} is not supported here; supported: ${list(p.supported)}. Use one of those, or process this request with OSML itself.`,
  },
  MODEL_FAILED: {
    summary:
      'The model call for one tile failed after its retries (connection refused, timeout, a 4xx/5xx answer); the run goes on and ends PARTIAL.',
    message: (p: { tile: string; endpoint: string; reason: string }) =>
      `The model at ${p.endpoint} failed on ${p.tile}: ${p.reason}. Check that the model is up and accepts the tile format; the other tiles were processed.`,
  },
  MODEL_OUTPUT_INVALID: {
    summary:
      "A model's answer for one tile is not a FeatureCollection in OSML's model-output format; the run goes on and ends PARTIAL.",
    message: (p: { tile: string; endpoint: string; problem: string }) =>
      `The model at ${p.endpoint} answered ${p.tile} with ${p.problem}. A model must return a GeoJSON FeatureCollection whose features carry properties.imageGeometry or properties.imageBBox in tile pixels (docs/runner.md "The model contract").`,
  },
  TILE_TOO_LARGE: {
    summary:
      'An encoded tile is over the request size limit of the endpoint (6 MB for real-time SageMaker); it is not sent.',
    message: (p: { tile: string; size: number; limit: number }) =>
      `${p.tile} encodes to ${p.size} bytes, over the ${p.limit}-byte payload limit; it was not sent. Use a smaller --tile-size, a compressed --tile-format (JPEG, or PNG), or the async request type.`,
  },
  OUTPUT_FAILED: {
    summary:
      'The features could not be written to the output (a folder that does not exist, no permission, an S3 upload error).',
    message: (p: { out: string; reason: string }) =>
      `Cannot write the features to ${p.out}: ${p.reason}. Nothing partial was left there; fix the location and run again.`,
  },
  ASYNC_INPUT_FAILED: {
    summary:
      'An async SageMaker run cannot put its tiles in the input location (`asyncInputLocation` / `--async-input` unset, a missing bucket, no permission); the run stops.',
    message: (p: { location: string; endpoint: string; reason: string }) =>
      `Cannot upload tiles for the async endpoint ${p.endpoint} to ${p.location}: ${p.reason}. Set \`asyncInputLocation\` (or \`--async-input\`) to an s3://bucket/prefix/ this host may write to; the run was stopped.`,
  },
  // RUNNER-CODES-END
} as const;

type Table = typeof TABLE;
/** Every stable error code. */
export type ErrorCode = keyof Table;
/** The parameters each code's message is built from. */
export type ErrorParams<C extends ErrorCode> = Parameters<Table[C]['message']>[0];

/** Every error code with its one-line summary, in table order (used by the README and a test). */
export const ERROR_CODES: readonly { code: ErrorCode; summary: string }[] = Object.entries(TABLE).map(
  ([code, spec]) => ({ code: code as ErrorCode, summary: spec.summary }),
);

/** Marks errors from any copy of this package (a plugin may resolve its own copy). */
const BRAND = Symbol.for('osml-extensions.error');

/**
 * The one error class of osml-extensions. Tests and callers branch on `code`, never on wording.
 * `instanceof` also recognizes errors made by another copy of the package.
 */
export class ExtensionError<C extends ErrorCode = ErrorCode> extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  override readonly name = 'ExtensionError';
  /** Stable code from the table above. */
  readonly code: C;
  /** The values the message was built from; lets a caller rebuild it with more context. */
  readonly params: ErrorParams<C>;

  constructor(code: C, params: ErrorParams<C>, options?: { cause?: unknown }) {
    const build = TABLE[code].message as (p: ErrorParams<C>) => string;
    super(build(params), options);
    this.code = code;
    this.params = params;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True when `value` is an {@link ExtensionError}, optionally of one code. */
export function isExtensionError<C extends ErrorCode>(value: unknown, code?: C): value is ExtensionError<C> {
  // Plugins can throw anything, even an object carrying our brand with throwing getters or a code
  // of their own: only a well-formed error with a code from the table counts as one of ours.
  try {
    if (!(value instanceof ExtensionError)) return false;
    const { code: actual, message, params } = value as { code: unknown; message: unknown; params: unknown };
    if (typeof actual !== 'string' || !Object.hasOwn(TABLE, actual) || typeof message !== 'string') return false;
    if (params === null || typeof params !== 'object') return false;
    return code === undefined || actual === code;
  } catch {
    return false;
  }
}

/**
 * Describe any thrown value in one line without ever throwing: plugins may throw `null`,
 * numbers, or objects whose `toString` itself throws.
 */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (typeof value === 'string') return value;
    if (value === null || typeof value !== 'object') return `threw ${String(value)}`;
    return `threw ${Object.prototype.toString.call(value)}: ${String(value)}`;
  } catch {
    return 'threw a value that cannot be printed';
  }
}

/** Turn an error about one plugin into a {@link Rejection}. */
export function toRejection(
  source: string,
  error: ExtensionError,
  requestTypes: string[] = [],
  level: Rejection['level'] = 'error',
): Rejection {
  return { source, code: error.code, message: error.message, level, requestTypes, error };
}

/** A plugin (or plugin root) that was refused, and why. Boot goes on without it. */
export interface Rejection {
  /** The entry file or folder, relative to the working directory. */
  source: Source;
  /** Stable code, e.g. `MANIFEST_INVALID`. */
  code: ErrorCode;
  /** The full message: what, where, what was received, how to fix it. */
  message: string;
  /** `warn` for problems that do not fail `check` (a missing default plugin root). */
  level: 'error' | 'warn';
  /** Request types the refused plugin declared, where they could be read. */
  requestTypes: string[];
  /** The error itself, with its `cause`. */
  error: ExtensionError;
}
