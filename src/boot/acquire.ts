/**
 * Between discovery and registration: get each plugin's handlers, from the manifest cache when
 * the plugin is unchanged (no import), else by importing it (and recording the result).
 */
import { mapBounded } from '../shared/concurrency.js';
import { ManifestCache, hashFile } from './cache.js';
import { probePlugins } from './probe.js';
import type { ResolvedConfig } from '../config.js';
import { FS_CONCURRENCY, type PluginCandidate } from './discover.js';
import { ExtensionError } from '../shared/errors.js';
import { loadPlugin, loadPlugins, uniqueByRealPath, type LoadedPlugin, type LoadOptions } from './load.js';
import { toRegistered, type HandlerInfo, type RegisteredHandler } from '../plugin/registry.js';
import type { HandlerClass, Logger } from '../shared/types.js';
import type { Rejection } from '../shared/errors.js';

/** One plugin's contribution, in discovery order. */
export interface AcquiredPlugin {
  candidate: PluginCandidate;
  handlers: RegisteredHandler[];
  rejected: Rejection[];
  /** True when it came from the manifest cache without an import. */
  cached: boolean;
}

/**
 * A handler registered from the cache: its plugin is imported on the first `load()`, once, and
 * must still provide a handler of that name with the same manifest. If it does not, the cache
 * entry is dropped so the next boot imports the plugin afresh, and the error says why: the
 * plugin's own refusal when it was refused, else MANIFEST_CHANGED.
 */
function lazyHandlers(
  candidate: PluginCandidate,
  infos: readonly HandlerInfo[],
  options: LoadOptions,
  forget: () => Promise<void>,
): RegisteredHandler[] {
  let imported: Promise<LoadedPlugin> | undefined;
  return infos.map((expected) => ({
    ...expected,
    source: candidate.source,
    async load(): Promise<HandlerClass> {
      imported ??= loadPlugin(candidate, options);
      const plugin = await imported;
      const manifest = plugin.manifests.find((m) => m.name === expected.name);
      if (manifest !== undefined && JSON.stringify(withoutClass(manifest)) === JSON.stringify(expected))
        return manifest.handler;
      await forget();
      const refusal = plugin.rejected[0];
      if (manifest === undefined && refusal !== undefined) throw refusal.error;
      const problem = manifest === undefined ? 'the handler is gone' : 'its manifest changed';
      throw new ExtensionError('MANIFEST_CHANGED', { name: expected.name, file: candidate.source, problem });
    },
  }));
}

const withoutClass = ({ handler: _handler, ...rest }: LoadedPlugin['manifests'][number]): HandlerInfo => rest;

/**
 * Every plugin's handlers and refusals, in discovery order. With the cache on, unchanged plugins
 * are not imported; the others are imported (bounded concurrency) and recorded.
 */
export async function acquirePlugins(
  config: ResolvedConfig,
  candidates: readonly PluginCandidate[],
  options: LoadOptions,
  logger: Logger,
): Promise<AcquiredPlugin[]> {
  const unique = await uniqueByRealPath(candidates);
  const cache = config.cache === false ? undefined : await ManifestCache.open(config.cache, logger);
  const hits = cache === undefined ? [] : await mapBounded(unique, FS_CONCURRENCY, (c) => cache.lookup(c));
  const misses = unique.filter((_, i) => hits[i] === undefined);
  // Hash before importing, so a change racing the import is caught on the next boot.
  const hashes =
    cache === undefined ? [] : await mapBounded(misses, FS_CONCURRENCY, (c) => hashFile(c.entry).catch(() => ''));
  // The probe decides only hangs; every other failure comes from the real import below, and a
  // plugin marked stuck by the probe is refused there without being imported.
  if (config.probe && misses.length > 0) {
    const hung = await probePlugins(misses, config.importTimeoutMs, options.reload);
    if (hung.size > 0)
      logger.warn(
        { event: 'probe.hung', sources: misses.filter((c) => hung.has(c.entry)).map((c) => c.source) },
        'the probe caught plugins that never finish importing',
      );
  }
  const loaded = await loadPlugins(misses, { ...options, unique: true });

  const byEntry = new Map<string, AcquiredPlugin>();
  loaded.forEach((plugin, i) => {
    if (plugin.importMs > config.slowPluginMs) {
      // Imports overlap (and share the TypeScript transpiler): say how many ran at once, so a
      // batch's time is not read as this plugin's alone.
      const start = plugin.startedMs ?? 0;
      const end = start + plugin.importMs;
      const overlapping = loaded.filter(
        (other) => other !== plugin && (other.startedMs ?? 0) < end && (other.startedMs ?? 0) + other.importMs > start,
      ).length;
      logger.warn(
        {
          event: 'plugin.slow',
          source: plugin.candidate.source,
          importMs: Math.round(plugin.importMs),
          slowPluginMs: config.slowPluginMs,
          overlapping,
        },
        overlapping === 0
          ? 'plugin import was slow'
          : `plugin import was slow; ${overlapping} other imports ran at the same time, so part of this wall time is theirs`,
      );
    }
    logger.debug(
      { event: 'plugin.imported', source: plugin.candidate.source, importMs: Math.round(plugin.importMs * 100) / 100 },
      'imported plugin',
    );
    cache?.record(plugin.candidate, hashes[i] ?? '', plugin.manifests.map(withoutClass), plugin.rejected);
    const handlers = plugin.manifests.map((m) => toRegistered(m, plugin.candidate.source));
    byEntry.set(plugin.candidate.entry, {
      candidate: plugin.candidate,
      handlers,
      rejected: plugin.rejected,
      cached: false,
    });
  });
  const result = unique.map((candidate, i) => {
    const hit = hits[i];
    if (hit === undefined) return byEntry.get(candidate.entry) as AcquiredPlugin;
    logger.debug(
      { event: 'plugin.cached', source: candidate.source },
      'plugin unchanged: registered from the manifest cache',
    );
    const cacheDir = config.cache as string;
    const forget = () => ManifestCache.forget(cacheDir, candidate.entry, logger);
    return {
      candidate,
      handlers: lazyHandlers(candidate, hit.manifests, options, forget),
      rejected: hit.rejected,
      cached: true,
    };
  });
  if (cache !== undefined) {
    cache.prune(config.pluginDirs, new Set(candidates.map((c) => c.entry)));
    await cache.save();
  }
  return result;
}
