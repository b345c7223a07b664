/**
 * Live drop-in: watch the plugin roots, rebuild the extensions after a change (fresh module
 * copies), and swap them in only when the selection is still valid; otherwise keep the running
 * ones and say why.
 *
 * Node cannot unload ES modules: every reload keeps the previous plugin code in memory, so
 * reloads are bounded by `maxReloads`. Each reload imports the plugin entries afresh, and the
 * files they import by relative path (see `LoadOptions.reload`); packages keep their first copy.
 */
import type { ImageProcessor, RegionProcessor } from '../handlers/types.js';
import { watch as watchFs, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config.js';
import { ExtensionError, describeThrown, isExtensionError } from '../shared/errors.js';
import { assertStrict, loadExtensions, type Extensions, type LoadExtensionsOptions } from './extensions.js';
import type { HandlerPair } from '../select/instantiate.js';
import { silentLogger } from '../shared/types.js';
import { relativePaths, toSource } from '../shared/paths.js';
import type { ResolveOptions, Selection } from '../select/resolve.js';
import type { Deps, Logger } from '../shared/types.js';

/** Options for {@link watch}: how to boot, what to select, and how to watch. */
export interface WatchOptions extends LoadExtensionsOptions, ResolveOptions {
  /** Start from these already booted extensions (their config is reused) instead of booting. */
  extensions?: Extensions;
  /**
   * The host's services. When given, the pair is constructed at start and after every reload,
   * and a reload whose pair fails to construct is not swapped in.
   */
  deps?: Deps;
  /** Quiet time after the last file event before reloading, in milliseconds. @default 200 */
  debounceMs?: number;
  /**
   * Reloads (attempts, successful or not) after which watching stops with `RELOAD_LIMIT`:
   * each one keeps a copy of the plugin modules in memory. @default 100
   */
  maxReloads?: number;
}

/** What is in force. */
export interface WatchState<Region = RegionProcessor, Image = ImageProcessor> {
  extensions: Extensions;
  selection: Selection;
  /** The constructed pair, when `deps` were given. */
  pair?: HandlerPair<Region, Image>;
  /** 0 for the first boot, then the number of the reload that produced this state. */
  generation: number;
}

/**
 * What a reload changed. Handlers are compared by name (a different source or slot, or a file
 * event in its plugin folder, is a change); plugin folders (relative to the working directory,
 * refused ones included) by path.
 */
export interface ReloadChanges {
  /** Handler names new in this reload. */
  added: string[];
  /** Handler names present before and after whose plugin changed. */
  changed: string[];
  /** Handler names gone. */
  removed: string[];
  /** Plugin folders, e.g. `plugins/custom`. */
  plugins: { added: string[]; changed: string[]; removed: string[] };
}

/** Emitted after a reload was swapped in. */
export type ReloadEvent<Region = RegionProcessor, Image = ImageProcessor> = ReloadChanges & WatchState<Region, Image>;

/** Emitted when a reload was refused (the running state is kept) or watching failed. */
export interface WatchFailure {
  /** The reload attempt; 0 when no reload was attempted (a watcher failed). */
  generation: number;
  error: Error;
}

/** A running watch. */
export interface WatchHandle<Region = RegionProcessor, Image = ImageProcessor> {
  /** What is in force now. */
  current(): WatchState<Region, Image>;
  /** Listen for swapped-in reloads; returns a function that removes the listener. */
  on(event: 'reload', listener: (event: ReloadEvent<Region, Image>) => void): () => void;
  /** Listen for refused reloads and watcher failures; returns a function that removes the listener. */
  on(event: 'error', listener: (failure: WatchFailure) => void): () => void;
  /** Stop watching; waits for a reload in progress. The current state stays readable. */
  close(): Promise<void>;
}

// Process-wide, so two watchers never share a module copy by reusing a generation number.
let reloadToken = 0;

/** A relative path under a root that is noise: dot files (editor swaps) and node_modules. */
const ignored = (rel: string): boolean =>
  rel.split(/[\\/]/).some((part) => part.startsWith('.') || part === 'node_modules');

/** The plugin folder (absolute) a path belongs to, if it lies under one of the roots. */
function folderOf(roots: readonly string[], abs: string): string | undefined {
  for (const root of roots) {
    const rel = path.relative(root, abs);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
    return path.join(root, rel.split(path.sep)[0] ?? '');
  }
  return undefined;
}

/** Plugin folders (absolute) of every handler and refusal, mapped to a source to report. */
function pluginsOf(ext: Extensions): Map<string, string> {
  const folders = new Map<string, string>();
  for (const { source } of [...ext.registry.list(), ...ext.rejected]) {
    if (source === 'builtin') continue;
    const folder = folderOf(ext.config.pluginDirs, path.resolve(ext.config.cwd, source));
    if (folder !== undefined && !folders.has(folder)) folders.set(folder, toSource(ext.config.cwd, folder));
  }
  return folders;
}

/**
 * Compare two boots: handlers by name + source (+ slot), plugin folders by path. A plugin whose
 * folder is in `touched` (absolute paths) counts as changed; a touched folder that is no plugin
 * (e.g. `_shared`, or a whole root) counts as a change to every plugin, since any may import it.
 */
export function diffExtensions(before: Extensions, after: Extensions, touched: ReadonlySet<string>): ReloadChanges {
  const oldPlugins = pluginsOf(before);
  const newPlugins = pluginsOf(after);
  const everything = [...touched].some((folder) => !oldPlugins.has(folder) && !newPlugins.has(folder));
  const isTouched = (folder: string): boolean => everything || touched.has(folder);
  const folderTouched = (source: string, config: ResolvedConfig): boolean => {
    const folder = source === 'builtin' ? undefined : folderOf(config.pluginDirs, path.resolve(config.cwd, source));
    return folder !== undefined && isTouched(folder);
  };
  const old = new Map(before.registry.list().map((h) => [h.name, h]));
  const next = new Map(after.registry.list().map((h) => [h.name, h]));
  const changes: ReloadChanges = {
    added: [],
    changed: [],
    removed: [],
    plugins: { added: [], changed: [], removed: [] },
  };
  for (const [name, h] of next) {
    const was = old.get(name);
    if (was === undefined) changes.added.push(name);
    else if (
      was.source !== h.source ||
      was.requestType !== h.requestType ||
      was.handlerType !== h.handlerType ||
      folderTouched(h.source, after.config)
    )
      changes.changed.push(name);
  }
  for (const name of old.keys()) if (!next.has(name)) changes.removed.push(name);
  for (const [folder, source] of newPlugins) {
    if (!oldPlugins.has(folder)) changes.plugins.added.push(source);
    else if (isTouched(folder)) changes.plugins.changed.push(source);
  }
  for (const [folder, source] of oldPlugins) if (!newPlugins.has(folder)) changes.plugins.removed.push(source);
  return changes;
}

function checkOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new ExtensionError('CONFIG_INVALID', {
      where: `the \`${name}\` option of watch()`,
      problems: [`${name}: must be a whole number ≥ ${min}, received ${String(value)}`],
    });
  }
  return value;
}

/**
 * Boot, select (and construct, with `deps`), then watch the plugin roots: after a plugin folder
 * is added, changed or removed, build a new {@link Extensions} with fresh module copies, resolve
 * with the same selector, and swap it in only if that succeeds (and construction, with `deps`).
 * Otherwise the running state is kept and the reason logged (warn) and emitted as `error`.
 * Each swap logs one `event: 'reload'` info line with `added`, `changed`, `removed`, `plugins`
 * and `generation`. The config is read once; roots are watched with `fs.watch` (recursive).
 *
 * Node cannot unload ES modules, so each reload keeps the old plugin code in memory: after
 * `maxReloads` reloads watching stops with `RELOAD_LIMIT` and the process should be restarted.
 * Entries and the files they import by relative path are imported afresh; packages are not.
 *
 * Throws what `loadExtensions`, `resolve` or construction throw at start. The watchers keep the
 * process alive until {@link WatchHandle.close}.
 * @example
 * const live = await watch({ cwd, logger, endpoint: 'sagemaker', deps: { sagemakerRuntime } });
 * live.on('reload', ({ added, removed }) => console.log(added, removed));
 * const { image } = live.current().pair!;   // read it per request: it changes on reload
 * await live.close();
 */
export async function watch<Region = RegionProcessor, Image = ImageProcessor>(
  options: WatchOptions = {},
): Promise<WatchHandle<Region, Image>> {
  const {
    extensions,
    deps,
    debounceMs: debounceOption,
    maxReloads: maxOption,
    requestType,
    endpoint,
    ...loadOptions
  } = options;
  const debounceMs = checkOption('debounceMs', debounceOption, 200, 0);
  const maxReloads = checkOption('maxReloads', maxOption, 100, 1);
  const logger: Logger = options.logger ?? silentLogger;
  const selector: ResolveOptions = { requestType, endpoint };

  const first = extensions ?? (await loadExtensions(loadOptions));
  const config = first.config;
  let state: WatchState<Region, Image>;
  if (deps === undefined) state = { extensions: first, selection: first.resolve(selector), generation: 0 };
  else {
    const pair = await first.start<Region, Image>({ ...selector, deps });
    state = { extensions: first, selection: pair.selection, pair, generation: 0 };
  }

  const listeners = {
    reload: new Set<(e: ReloadEvent<Region, Image>) => void>(),
    error: new Set<(f: WatchFailure) => void>(),
  };
  const emitError = (failure: WatchFailure): void => listeners.error.forEach((l) => l(failure));
  const watchers: FSWatcher[] = [];
  const touched = new Set<string>();
  let attempts = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const stopWatching = (): void => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const w of watchers.splice(0)) w.close();
  };

  /** One reload attempt: build, check, swap in or keep the running state. */
  const attempt = async (generation: number, folders: ReadonlySet<string>): Promise<void> => {
    let next: WatchState<Region, Image>;
    try {
      const ext = await loadExtensions({ ...loadOptions, config, logger, reload: String(++reloadToken) });
      assertStrict(ext);
      // Still valid means the pair asked for: a new fallback would silently replace working handlers.
      const selection = ext.resolve({ ...selector, fallback: config.fallbackEnabled && state.selection.fallback });
      next = {
        extensions: ext,
        selection,
        generation,
        ...(deps === undefined ? {} : { pair: await ext.instantiate<Region, Image>(selection, deps) }),
      };
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(describeThrown(thrown));
      const code = isExtensionError(error) ? error.code : 'INTERNAL';
      logger.warn(
        { event: 'reload.rejected', generation, running: state.generation, code, message: error.message },
        'reload refused; keeping the running handlers',
      );
      emitError({ generation, error });
      return;
    }
    const changes = diffExtensions(state.extensions, next.extensions, folders);
    state = next;
    logger.info({ event: 'reload', generation, ...changes }, 'reloaded plugins');
    listeners.reload.forEach((l) => l({ ...changes, ...next }));
  };

  const reload = async (): Promise<void> => {
    const generation = ++attempts;
    const folders = new Set(touched);
    touched.clear();
    try {
      await attempt(generation, folders);
    } finally {
      if (attempts >= maxReloads) {
        stopWatching();
        const error = new ExtensionError('RELOAD_LIMIT', { maxReloads });
        logger.error(
          { event: 'reload.limit', code: error.code, maxReloads, message: error.message },
          'live reload stopped; restart the process',
        );
        emitError({ generation, error });
      }
    }
  };

  const kick = (): void => {
    timer = undefined;
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = reload()
      .catch((error: unknown) =>
        logger.error(
          { event: 'reload.failed', message: describeThrown(error) },
          'reload failed unexpectedly (a listener threw?)',
        ),
      )
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          kick();
        }
      });
  };

  const onEvent = (root: string, filename: string | Buffer | null): void => {
    if (stopped) return;
    const rel = filename === null ? '' : filename.toString();
    if (rel !== '' && ignored(rel)) return;
    // No file name: count the whole root as touched.
    const folder = rel === '' ? undefined : folderOf([root], path.join(root, rel));
    touched.add(folder ?? root);
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(kick, debounceMs);
  };

  for (const root of config.useExtensions ? config.pluginDirs : []) {
    const failed = (cause: unknown): void => {
      const error = new ExtensionError(
        'WATCH_FAILED',
        { root: toSource(config.cwd, root), reason: relativePaths(describeThrown(cause), config.cwd) },
        { cause },
      );
      logger.warn(
        { event: 'watch.failed', code: error.code, root: toSource(config.cwd, root), message: error.message },
        'cannot watch a plugin root',
      );
      emitError({ generation: 0, error });
    };
    try {
      const watcher = watchFs(root, { recursive: true }, (_type, filename) => onEvent(root, filename));
      watcher.on('error', failed);
      watchers.push(watcher);
    } catch (cause) {
      failed(cause);
    }
  }

  return {
    current: () => state,
    on(event: 'reload' | 'error', listener: (arg: never) => void): () => void {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => void set.delete(listener);
    },
    async close() {
      stopWatching();
      again = false;
      await running;
      listeners.reload.clear();
      listeners.error.clear();
    },
  } as WatchHandle<Region, Image>;
}
