/**
 * Loading: import each discovered entry and collect the manifests it offers — `default` (one
 * manifest or an array), `manifest`, `manifests`, and every exported class decorated with
 * `registerHandler` — then validate each one. One bad plugin never stops the others.
 */
import { execFile } from 'node:child_process';
import { readFile, realpath, stat } from 'node:fs/promises';
import { register } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { mapBounded } from '../shared/concurrency.js';
import { ExtensionError, describeThrown, isExtensionError, toRejection } from '../shared/errors.js';
import type { PluginCandidate } from './discover.js';
import { integrityFailure } from './lock.js';
import { isStuck, markStuck, stuckReason } from './stuck.js';
import { relativePaths } from '../shared/paths.js';
import { attachedManifest, validateManifest, type Manifest } from '../plugin/manifest.js';
import type { Rejection } from '../shared/errors.js';

/** Entry extensions loaded through jiti (TypeScript without a build step); the rest use `import()`. */
export const TYPESCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts'] as const;

const RELOAD_PARAM = 'osml-reload';
/**
 * A module resolve hook that carries the reload generation from a module to the files it imports
 * by relative path, so a reload re-evaluates a plugin's own helper files, not only its entry.
 * Packages (bare specifiers) are shared across generations.
 */
const RELOAD_HOOK = `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const parent = context.parentURL;
  if (parent === undefined || !(specifier.startsWith('./') || specifier.startsWith('../')) || !result.url.startsWith('file:')) return result;
  const generation = new URL(parent).searchParams.get('${RELOAD_PARAM}');
  if (generation === null) return result;
  const url = new URL(result.url);
  url.searchParams.set('${RELOAD_PARAM}', generation);
  return { ...result, url: url.href };
}`;
let reloadHookRegistered = false;
function registerReloadHook(): void {
  if (reloadHookRegistered) return;
  reloadHookRegistered = true;
  register(`data:text/javascript,${encodeURIComponent(RELOAD_HOOK)}`);
}

type Jiti = { import(id: string): Promise<unknown> };
const jitis = new Map<string, Promise<Jiti>>();

/** Options for {@link loadPlugin} and {@link loadPlugins}. */
export interface LoadOptions {
  /**
   * Import a fresh copy of each module instead of Node's cached one (used by live reload).
   * Node cannot unload ES modules: every distinct value keeps one more copy in memory.
   */
  reload?: string;
  /** How many entries are imported at once; registration order is unaffected. @default 64 */
  concurrency?: number;
  /** An import taking longer fails with IMPORT_TIMEOUT. @default 10000 */
  timeoutMs?: number;
  /** The caller already dropped duplicate real paths (skips resolving them again). @default false */
  unique?: boolean;
  /** Working directory: absolute paths in import errors are shown relative to it. */
  cwd?: string;
}

/**
 * Import an entry: natively, or through jiti for TypeScript (one instance per reload generation,
 * created on first use so that JavaScript-only boots never load jiti).
 */
function importEntry(entry: string, reload: string | undefined): Promise<unknown> {
  if (!TYPESCRIPT_EXTENSIONS.some((ext) => entry.endsWith(ext))) {
    const url = pathToFileURL(entry);
    if (reload !== undefined) {
      registerReloadHook();
      url.searchParams.set(RELOAD_PARAM, reload);
    }
    return import(url.href);
  }
  const key = reload ?? '';
  let jiti = jitis.get(key);
  if (jiti === undefined) {
    // interopDefault off: the loader needs the module namespace exactly as the plugin wrote it.
    jiti = import('jiti').then(({ createJiti }) =>
      createJiti(import.meta.url, { interopDefault: false, moduleCache: reload === undefined }),
    );
    jitis.set(key, jiti);
  }
  return jiti.then((j) => j.import(entry));
}

/** What one plugin entry yielded. */
export interface LoadedPlugin {
  candidate: PluginCandidate;
  /** Valid manifests, in export order. */
  manifests: Manifest[];
  /** Problems with this plugin (import failure, missing or invalid manifests). */
  rejected: Rejection[];
  /** Wall time of the `import()`, in milliseconds; imports run concurrently, so it may include others' work. */
  importMs: number;
  /** When the import started (`performance.now()`), to tell which imports overlapped. */
  startedMs?: number;
}

/** A manifest-like value found among a module's exports, with a label for error messages. */
interface Offered {
  value: unknown;
  label: string;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * Imports in flight at once. Node's loader overlaps file reads and compiles well past 16 at a
 * time; the bound keeps memory flat and keeps a long queue from eating into each import's timeout.
 */
const DEFAULT_CONCURRENCY = 64;
/** Thrown (internally) when an import outlives its timeout. */
const TIMED_OUT = Symbol('import timed out');
async function importWithTimeout(entry: string, options: LoadOptions): Promise<unknown> {
  if (isStuck(entry, options.reload)) throw TIMED_OUT;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([importEntry(entry, options.reload), timeout]);
  } catch (error) {
    if (error === TIMED_OUT && !isStuck(entry, options.reload))
      markStuck(entry, 'its top level never settled', options.reload);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The ExtensionError for an import that threw (or never finished). */
async function importFailure(
  cause: unknown,
  candidate: PluginCandidate,
  timeoutMs: number,
  cwd: string | undefined,
  reload: string | undefined,
): Promise<ExtensionError> {
  const { source, entry } = candidate;
  if (cause === TIMED_OUT)
    return new ExtensionError('IMPORT_TIMEOUT', {
      file: source,
      timeoutMs,
      how: stuckReason(entry, reload) ?? 'its top level never settled',
    });
  // registerHandler validates at class definition, i.e. during import: keep its code, add the file.
  const invalid = manifestProblems(cause);
  if (invalid !== undefined) {
    return new ExtensionError(
      'MANIFEST_INVALID',
      { file: `${source} (${invalid.file})`, problems: invalid.problems },
      { cause },
    );
  }
  const reason = describeThrown(cause);
  const integrity = integrityFailure(cause);
  if (integrity !== undefined) {
    return new ExtensionError(
      'INTEGRITY_MISMATCH',
      {
        file: source,
        expected: integrity.expected.slice(0, 19),
        actual: integrity.actual.slice(0, 19),
        detail: integrity.detail,
      },
      { cause },
    );
  }
  if ((await stat(entry).catch((e: NodeJS.ErrnoException) => e.code)) === 'ENOENT')
    return new ExtensionError('VANISHED', { file: source }, { cause });
  const missing = missingPackage(cause);
  const fix =
    missing === undefined ? {} : { fix: `Install the package it imports (\`npm install ${missing}\` in the project)` };
  const where = await syntaxErrorLine(cause, entry);
  const located = where === undefined ? reason : `${reason} (at ${where})`;
  return new ExtensionError(
    'IMPORT_FAILED',
    { file: source, reason: oneLine(located, entry, source, cwd), ...fix },
    { cause },
  );
}

/**
 * Where an ES module's syntax error is: Node's import error has no line, but `node --check` (which
 * parses without running anything) prints `file:line`. Only asked on a failure; at most 5 s.
 */
async function syntaxErrorLine(cause: unknown, entry: string): Promise<string | undefined> {
  if (!(cause instanceof SyntaxError) || TYPESCRIPT_EXTENSIONS.some((ext) => entry.endsWith(ext))) return undefined;
  const stderr = await new Promise<string>((resolve) => {
    execFile(process.execPath, ['--check', entry], { timeout: 5000 }, (_error, _stdout, text) => resolve(String(text)));
  });
  const first = stderr.split('\n', 1)[0] ?? '';
  return /:\d+$/.test(first) ? first : undefined;
}

/** The file and problems of a MANIFEST_INVALID thrown by registerHandler, read defensively (a plugin could forge one). */
function manifestProblems(cause: unknown): { file: string; problems: string[] } | undefined {
  if (!isExtensionError(cause, 'MANIFEST_INVALID')) return undefined;
  try {
    const { file, problems } = cause.params as { file: unknown; problems: unknown };
    if (typeof file !== 'string' || !Array.isArray(problems) || !problems.every((p) => typeof p === 'string'))
      return undefined;
    return { file, problems: [...(problems as string[])] };
  } catch {
    return undefined;
  }
}

/**
 * The package a failed import could not find, when the specifier was a bare package name (not a
 * relative path): Node's loader and jiti both say so in their own words, with these codes.
 */
function missingPackage(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const specifier = /Cannot find (?:package|module) '([^']+)'/.exec(describeThrown(cause))?.[1];
  if (specifier === undefined || /^(\.|\/|[a-z]:|file:|node:)/i.test(specifier)) return undefined;
  // `@scope/name/sub` → `@scope/name`; `name/sub` → `name`.
  return specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
}

/** A reason on one line, with the entry shown as its source and other paths relative to `cwd`. */
function oneLine(reason: string, entry: string, source: string, cwd: string | undefined): string {
  const named = reason.split(entry).join(source);
  return (cwd === undefined ? named : relativePaths(named, cwd)).replace(/\s*\n\s*/g, ' ').trim();
}

/** Read `requestType` from a value that failed validation, without trusting it (a getter may throw). */
function declaredRequestType(value: unknown): string[] {
  try {
    const declared = (value as { requestType?: unknown } | null | undefined)?.requestType;
    return typeof declared === 'string' ? [declared] : [];
  } catch {
    return [];
  }
}

/** Stands in for a `manifests` export that is not an array: never valid, whatever it holds. */
const NOT_AN_ARRAY = Symbol('manifests must be an array');

/** Everything a module namespace offers as a manifest. */
function collect(ns: Record<string, unknown>): Offered[] {
  // A CommonJS plugin's `module.exports = { manifests }` arrives as `default`.
  const cjs =
    isPlainObject(ns['default']) &&
    !('requestType' in ns['default']) &&
    ('manifest' in ns['default'] || 'manifests' in ns['default']);
  const exports = cjs ? { ...(ns['default'] as Record<string, unknown>), ...ns, default: undefined } : ns;

  const offered: Offered[] = [];
  const addAll = (value: unknown, label: string): void => {
    if (Array.isArray(value)) value.forEach((item, i) => offered.push({ value: item, label: `${label}[${i}]` }));
    else offered.push({ value, label });
  };
  if (exports['default'] !== undefined && attachedManifest(exports['default']) === undefined)
    addAll(exports['default'], 'default export');
  if (exports['manifest'] !== undefined) offered.push({ value: exports['manifest'], label: 'export "manifest"' });
  if (exports['manifests'] !== undefined) {
    if (Array.isArray(exports['manifests'])) addAll(exports['manifests'], 'export "manifests"');
    else offered.push({ value: NOT_AN_ARRAY, label: 'export "manifests"' });
  }

  // Decorated classes: once each, and not again when a manifest object already names the class.
  const seen = new Set<unknown>(offered.map((o) => (isPlainObject(o.value) ? o.value['handler'] : undefined)));
  for (const [name, value] of Object.entries(exports)) {
    const attached = attachedManifest(value);
    if (attached === undefined || seen.has(value)) continue;
    seen.add(value);
    offered.push({
      value: { ...attached, handler: value },
      label: `class ${name === 'default' ? 'default export' : name}`,
    });
  }
  return offered;
}

/**
 * Import one plugin entry and validate what it exports. Never throws: every problem becomes a
 * {@link Rejection} naming the file.
 */
export async function loadPlugin(candidate: PluginCandidate, options: LoadOptions = {}): Promise<LoadedPlugin> {
  const { source } = candidate;
  const started = performance.now();
  let ns: Record<string, unknown>;
  try {
    ns = (await importWithTimeout(candidate.entry, options)) as Record<string, unknown>;
  } catch (cause) {
    const error = await importFailure(
      cause,
      candidate,
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      options.cwd,
      options.reload,
    );
    return {
      candidate,
      manifests: [],
      rejected: [toRejection(source, error, [], error.code === 'VANISHED' ? 'warn' : 'error')],
      importMs: performance.now() - started,
      startedMs: started,
    };
  }
  const importMs = performance.now() - started;

  let offered: Offered[];
  try {
    offered = collect(ns);
  } catch (cause) {
    // A throwing getter or Proxy trap on an export: refuse this plugin, never the boot.
    const error = new ExtensionError(
      'MANIFEST_INVALID',
      { file: source, problems: [`(exports): reading the exports threw (${describeThrown(cause)})`] },
      { cause },
    );
    return { candidate, manifests: [], rejected: [toRejection(source, error)], importMs, startedMs: started };
  }
  if (offered.length === 0) {
    // A class decorated but not exported is the usual cause: the source says so (the entry is
    // already vetted and size-bounded, so reading it again is cheap).
    const text = await readFile(candidate.entry, 'utf8').catch(() => '');
    const decorated = /@registerHandler\s*\(/.test(text) ? { decoratedButNotExported: true } : {};
    const error = new ExtensionError('MANIFEST_MISSING', { file: source, exports: Object.keys(ns), ...decorated });
    return { candidate, manifests: [], rejected: [toRejection(source, error)], importMs, startedMs: started };
  }
  const manifests: Manifest[] = [];
  const rejected: Rejection[] = [];
  for (const { value, label } of offered) {
    try {
      if (value === NOT_AN_ARRAY)
        throw new ExtensionError('MANIFEST_INVALID', {
          file: `${source} (${label})`,
          problems: ['manifests: must be an array of manifests'],
        });
      manifests.push(validateManifest(value, `${source} (${label})`));
    } catch (error) {
      if (!isExtensionError(error)) throw error;
      rejected.push(toRejection(source, error, declaredRequestType(value)));
    }
  }
  return { candidate, manifests, rejected, importMs, startedMs: started };
}

/**
 * Load many plugins with bounded concurrency; results keep the candidates' order so that
 * registration stays deterministic. The same real file reached twice is loaded once.
 */
export async function loadPlugins(
  candidates: readonly PluginCandidate[],
  options: LoadOptions = {},
): Promise<LoadedPlugin[]> {
  const unique = options.unique === true ? candidates : await uniqueByRealPath(candidates);
  return mapBounded(unique, options.concurrency ?? DEFAULT_CONCURRENCY, (candidate) => loadPlugin(candidate, options));
}

/**
 * Drop candidates whose entry is the same real file as an earlier one (symlinks, overlapping
 * roots). Uses the real path vetting already found, and resolves it only where missing.
 */
export async function uniqueByRealPath(
  candidates: readonly (PluginCandidate & { realEntry?: string })[],
): Promise<PluginCandidate[]> {
  const realPaths = await Promise.all(candidates.map((c) => c.realEntry ?? realpath(c.entry).catch(() => c.entry)));
  const seen = new Set<string>();
  return candidates.filter((_, i) => {
    const real = realPaths[i] as string;
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}
