/**
 * `osml-extensions/testing`: helpers for a plugin's own tests. Framework-agnostic (they throw
 * plain errors, so vitest, jest or `node:test` all work), and they load the plugin exactly as the
 * host does: discovery, then import (TypeScript through jiti), validation and registration.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BUILTIN_HANDLERS } from './plugin/builtins.js';
import { loadConfig } from './config.js';
import { discover, type PluginCandidate } from './boot/discover.js';
import { ExtensionError, isExtensionError, toRejection } from './shared/errors.js';
import type {
  Feature,
  FeatureCollection,
  ImageRequest,
  ModelInvoker,
  RegionProcessor,
  TileRequest,
} from './handlers/types.js';
import { instantiate, type HandlerPair } from './select/instantiate.js';
import { admit } from './boot/admit.js';
import { silentLogger } from './shared/types.js';
import { toSource } from './shared/paths.js';
import { Registry, type RegisteredHandler } from './plugin/registry.js';
import type { Selection } from './select/resolve.js';
import { closest } from './shared/suggest.js';
import { HandlerType, type Deps, type Logger } from './shared/types.js';
import type { Rejection } from './shared/errors.js';

/** One plugin folder, loaded on its own: what {@link loadPluginFolder} returns. */
export interface PluginFolder {
  /** The plugin folder, absolute. */
  dir: string;
  /** The folder as discovery saw it; `undefined` when discovery refused it (see `rejected`). */
  candidate: PluginCandidate | undefined;
  /** A fresh registry holding this plugin's handlers only (no built-ins). */
  registry: Registry;
  /**
   * Everything refused, as a boot would report it: a missing entry, an import failure, an invalid
   * manifest, or a slot or name clash (within the plugin, or with the built-in `http` pair).
   */
  rejected: Rejection[];
}

/** Options for {@link loadPluginFolder}. */
export interface LoadPluginFolderOptions {
  /** What `dir` and the reported sources are relative to. @default process.cwd() */
  cwd?: string;
}

const BUILTINS = [BUILTIN_HANDLERS.region, BUILTIN_HANDLERS.image];

/**
 * Load one plugin folder the way the host does, into a fresh registry of its own. Never throws
 * for a broken plugin: check `rejected`. Throws a `TypeError` when `dir` is not a folder the host
 * would load (missing, not a directory, or named `_*`, `.*` or `node_modules`).
 *
 * @example
 * ```ts
 * const plugin = await loadPluginFolder(fileURLToPath(new URL('.', import.meta.url)));
 * expect(plugin.rejected.map((r) => r.message)).toEqual([]);
 * ```
 */
export async function loadPluginFolder(dir: string, options: LoadPluginFolderOptions = {}): Promise<PluginFolder> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const folder = path.resolve(cwd, dir);
  const name = path.basename(folder);
  if (name.startsWith('_') || name.startsWith('.') || name === 'node_modules') {
    throw new TypeError(`loadPluginFolder: the host skips folders named "_*", ".*" and "node_modules", got: ${folder}`);
  }
  const stats = await stat(folder).catch(() => undefined);
  if (stats?.isDirectory() !== true) {
    throw new TypeError(
      `loadPluginFolder: \`dir\` must be a plugin folder, got: ${folder} (${stats === undefined ? 'missing' : 'not a directory'})`,
    );
  }

  // Discovery of the parent root is shallow and imports nothing; keep only this folder's part.
  const found = await discover({ roots: [path.dirname(folder)], cwd });
  const candidate = found.plugins.find((p) => p.dir === folder);
  const rejected = found.rejected.filter((r) => r.source === toSource(cwd, folder));
  const registry = new Registry();
  if (candidate === undefined) return { dir: folder, candidate, registry, rejected };

  // The same checks a boot makes before any plugin code runs (containment, size, permissions,
  // the lock next to the config), so a plugin refused at boot is refused here too.
  const config = await loadConfig({ cwd, overrides: { pluginDirs: [path.dirname(folder)], cache: false } });
  // The boot's own admission path: lock, vetting, the load hook, then the import.
  const admitted = await admit([candidate], config, { logger: silentLogger, drift: false });
  rejected.push(...admitted.rejected);
  const plugin = admitted.plugins[0];
  if (plugin === undefined) return { dir: folder, candidate, registry, rejected };
  rejected.push(...plugin.rejected);
  // The built-ins hold their slots and names first, as at boot, so a clash is reported here too.
  for (const builtin of BUILTINS) registry.add(builtin);
  for (const handler of plugin.handlers) {
    try {
      registry.add(handler);
    } catch (error) {
      if (!isExtensionError(error)) throw error;
      rejected.push(toRejection(candidate.source, error, [handler.requestType]));
    }
  }
  for (const builtin of BUILTINS) registry.unregister(builtin.name);
  return { dir: folder, candidate, registry, rejected };
}

/**
 * Assert that the plugin fills both slots of `requestType`; returns the pair. Otherwise throws the
 * `ExtensionError` a boot would (`UNKNOWN_REQUEST_TYPE` or `INCOMPLETE_REQUEST_TYPE`), naming the
 * missing slot and the plugin's refusals, with the first refusal as `cause`.
 *
 * @example
 * ```ts
 * const { region, image } = expectCompletePair(plugin, 'custom_processing');
 * expect(region.name).toBe('custom-region');
 * ```
 */
export function expectCompletePair(
  plugin: PluginFolder,
  requestType: string,
): { region: RegisteredHandler; image: RegisteredHandler } {
  const region = plugin.registry.get(requestType, HandlerType.REGION_REQUEST_HANDLER);
  const image = plugin.registry.get(requestType, HandlerType.IMAGE_REQUEST_HANDLER);
  if (region !== undefined && image !== undefined) return { region, image };

  // A refusal that could not say its request type (an import failure) may well be the reason.
  const relevant = plugin.rejected.filter((r) => r.requestTypes.length === 0 || r.requestTypes.includes(requestType));
  const refused = relevant.map((r) => ({ source: r.source, code: r.code }));
  const cause = { cause: relevant[0]?.error };
  const from = 'expectCompletePair';
  if (region === undefined && image === undefined) {
    const known = plugin.registry.requestTypes();
    throw new ExtensionError(
      'UNKNOWN_REQUEST_TYPE',
      { requestType, from, known, suggestion: closest(requestType, known), extensionsOff: false, refused },
      cause,
    );
  }
  const present = (region ?? image) as RegisteredHandler;
  const missing = region === undefined ? HandlerType.REGION_REQUEST_HANDLER : HandlerType.IMAGE_REQUEST_HANDLER;
  throw new ExtensionError(
    'INCOMPLETE_REQUEST_TYPE',
    { requestType, from, missing, present: `${present.handlerType} "${present.name}" (${present.source})`, refused },
    cause,
  );
}

/** A {@link ModelInvoker} that answers from memory and records every tile it was given. */
export interface FakeModelInvoker extends ModelInvoker {
  /** Every tile, in call order. */
  readonly calls: TileRequest[];
}

/**
 * A model that needs no network: every call is recorded in `calls` and answered with `features`
 * (in tile pixel coordinates), or with what the function returns for that tile.
 * @default features `[]`
 *
 * @example
 * ```ts
 * const modelInvoker = fakeModelInvoker([{ type: 'Feature', geometry: { type: 'Point', coordinates: [8, 8] }, properties: null }]);
 * const { image } = await buildHandlers(plugin, 'custom_processing', { modelInvoker });
 * await image.processImageRequest({ imageId: 'i', endpoint: 'http://model.test', width: 1024, height: 512 });
 * expect(modelInvoker.calls).toHaveLength(4);
 * ```
 */
export function fakeModelInvoker(
  features: readonly Feature[] | ((tile: TileRequest) => readonly Feature[]) = [],
): FakeModelInvoker {
  const calls: TileRequest[] = [];
  return {
    calls,
    async invoke(tile: TileRequest): Promise<FeatureCollection> {
      calls.push(structuredClone(tile));
      const found = typeof features === 'function' ? features(tile) : features;
      return { type: 'FeatureCollection', features: structuredClone([...found]) };
    },
  };
}

/** One recorded log call. */
export interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A {@link Logger} (also fit for a handler's `deps.logger`) that keeps every call in `entries`. */
export interface CapturedLogs extends Logger {
  /** Every call, in order. */
  readonly entries: LogEntry[];
}

/**
 * A logger that records instead of writing, for asserting what a handler or a boot logged.
 *
 * @example
 * ```ts
 * const logger = captureLogs();
 * const { image } = await buildHandlers(plugin, 'custom_processing', { logger });
 * await image.processImageRequest(request);
 * expect(logger.entries.some((e) => e.msg === 'image processed')).toBe(true);
 * ```
 */
export function captureLogs(): CapturedLogs {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => {
    entries.push({ level, obj: { ...obj }, msg });
  };
  return { entries, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** Anything that can process an image request, e.g. an `ImageRequestHandler`. */
export interface ImageProcessor {
  processImageRequest(request: ImageRequest): Promise<FeatureCollection>;
}

/** The constructed pair and the deps it was given: what {@link buildHandlers} returns. */
export interface TestHandlers<Region, Image> extends HandlerPair<Region, Image> {
  /** The deps the region handler got: the fakes, overlaid with yours. */
  deps: Deps & { modelInvoker: ModelInvoker; logger: Logger };
}

/**
 * Construct the plugin's pair for `requestType` as the host would (region first, then image with
 * `regionRequestHandler`), with fake services: a {@link fakeModelInvoker} answering `[]` and a
 * {@link captureLogs} logger, overlaid with `deps`. Throws like {@link expectCompletePair}, or
 * `DEPENDENCY_MISSING` / `HANDLER_CONSTRUCTION_FAILED` as a boot would.
 *
 * @example
 * ```ts
 * const modelInvoker = fakeModelInvoker();
 * const { region } = await buildHandlers(plugin, 'custom_processing', { modelInvoker, sagemakerRuntime: fakeRuntime });
 * await region.processRegionRequest({ imageId: 'i', endpoint: 'e', region: { x: 0, y: 0, width: 512, height: 512 } });
 * ```
 */
export async function buildHandlers<Region = RegionProcessor, Image = ImageProcessor>(
  plugin: PluginFolder,
  requestType: string,
  deps: Deps = {},
): Promise<TestHandlers<Region, Image>> {
  const pair = expectCompletePair(plugin, requestType);
  const merged = { modelInvoker: fakeModelInvoker() as ModelInvoker, logger: captureLogs() as Logger, ...deps };
  const selection: Selection = { requestType, source: 'argument', fallback: false, ...pair };
  const { region, image } = await instantiate<Region, Image>(selection, merged);
  return { region, image, selection, deps: merged };
}
