/**
 * The orchestrator: config → discover → load → validate → register, then resolve and
 * instantiate on demand. Logs what it loaded, refused and chose.
 */
import type { ImageProcessor, RegionProcessor } from '../handlers/types.js';
import { assertStrict } from './strict.js';
import { performance } from 'node:perf_hooks';
import { BUILTIN_HANDLERS } from '../plugin/builtins.js';
import { loadConfig, type ConfigOptions, type ResolvedConfig } from '../config.js';
import { discover } from '../boot/discover.js';
import { admit } from '../boot/admit.js';
import { ExtensionError, isExtensionError, toRejection } from '../shared/errors.js';
import { instantiate, type HandlerPair } from '../select/instantiate.js';
import type { AcquiredPlugin } from '../boot/acquire.js';
import { silentLogger } from '../shared/types.js';
import { Registry } from '../plugin/registry.js';
import { fallbackSelection, resolveSelection, type ResolveOptions, type Selection } from '../select/resolve.js';
import { closest } from '../shared/suggest.js';
import type { DisabledInfo } from '../select/explain.js';
import type { Deps, Logger } from '../shared/types.js';
import type { Rejection } from '../shared/errors.js';

/** Options for {@link loadExtensions}. */
export interface LoadExtensionsOptions extends ConfigOptions {
  /** An already loaded config; when given, the config options above are ignored. */
  config?: ResolvedConfig;
  /** Where to log; the library writes nothing by default. @default a silent logger */
  logger?: Logger;
  /** How many plugin entries are imported at once. Registration order is unaffected. @default 64 */
  concurrency?: number;
  /** Import fresh module copies (live reload): each generation imports its own copy of every plugin. */
  reload?: string;
}

/** A booted set of extensions. */
export interface Extensions {
  config: ResolvedConfig;
  registry: Registry;
  /** Every refused plugin (and invalid root), in discovery order. */
  rejected: Rejection[];
  /** Handlers skipped because config `disabled` names them, and names that matched nothing. */
  disabled: DisabledInfo;
  /** Boot wall time in milliseconds. */
  durationMs: number;
  /** Choose the pair in force; see {@link resolveSelection}. Logs the selection. */
  resolve(options?: ResolveOptions): Selection;
  /** Build the selected pair with the host's services. */
  instantiate<Region = RegionProcessor, Image = ImageProcessor>(
    selection: Selection,
    deps?: Deps,
  ): Promise<HandlerPair<Region, Image>>;
  /**
   * Resolve and instantiate; with fallback enabled, a construction failure falls back to the
   * built-in pair.
   */
  start<Region = RegionProcessor, Image = ImageProcessor>(
    options?: ResolveOptions & { deps?: Deps },
  ): Promise<HandlerPair<Region, Image>>;
}

/** Register built-ins, then every plugin's handlers in discovery order; collect conflicts. */
function register(
  config: ResolvedConfig,
  plugins: readonly AcquiredPlugin[],
  logger: Logger,
): { registry: Registry; rejected: Rejection[]; disabledInfo: DisabledInfo } {
  const registry = new Registry();
  const rejected: Rejection[] = [];
  const disabled = new Set(config.disabled);
  const seenNames = new Set<string>();
  const disabledInfo: DisabledInfo = { handlers: [], unknown: [] };
  for (const entry of [BUILTIN_HANDLERS.region, BUILTIN_HANDLERS.image]) registry.add(entry);
  for (const plugin of plugins) {
    rejected.push(...plugin.rejected);
    for (const handler of plugin.handlers) {
      seenNames.add(handler.name);
      if (disabled.has(handler.name)) {
        disabledInfo.handlers.push({
          name: handler.name,
          requestType: handler.requestType,
          handlerType: handler.handlerType,
          source: handler.source,
        });
        logger.info(
          { event: 'handler.disabled', name: handler.name, source: handler.source },
          'handler disabled by config',
        );
        continue;
      }
      try {
        registry.add(handler);
      } catch (error) {
        if (!isExtensionError(error)) throw error;
        rejected.push(toRejection(handler.source, error, [handler.requestType]));
      }
    }
  }
  for (const name of disabled) {
    if (!seenNames.has(name)) {
      const hint = closest(name, seenNames);
      disabledInfo.unknown.push({ name, ...(hint === undefined ? {} : { didYouMean: hint }) });
      logger.warn(
        { event: 'config.disabled-unknown', name, ...(hint === undefined ? {} : { didYouMean: hint }) },
        'a name in `disabled` matches no plugin handler',
      );
    }
  }
  return { registry, rejected, disabledInfo };
}

/**
 * Boot: load the config, discover plugin folders, import them, validate and register their
 * manifests. Never throws for a bad plugin (see `rejected`); throws `CONFIG_INVALID` for bad config.
 * @example
 * const ext = await loadExtensions({ cwd: process.cwd(), logger });
 * const { region, image } = await ext.start({ endpoint: 'sagemaker', deps: { modelInvoker } });
 */
export async function loadExtensions(options: LoadExtensionsOptions = {}): Promise<Extensions> {
  const started = performance.now();
  const logger = options.logger ?? silentLogger;
  const config = options.config ?? (await loadConfig(options));

  const search = config.search;
  if (search?.nearMiss !== undefined) {
    const { file, didYouMean } = search.nearMiss;
    logger.warn(
      { event: 'config.near-miss', file, didYouMean },
      `no config file found; did you mean to name ${file} ${didYouMean}?`,
    );
  } else if (search !== undefined) {
    logger.info(
      { event: 'config.none', from: search.from, stoppedAt: search.stoppedAt },
      'no config file found; using the defaults',
    );
  }
  const rootNote =
    search === undefined
      ? undefined
      : `the default root, in the working directory: no config file was found there${search.stoppedAt === '.' ? ' (its package.json ends the search)' : ` or above it up to ${search.stoppedAt}`}${search.nearMiss === undefined ? '' : `; ${search.nearMiss.file} looks like a misnamed ${search.nearMiss.didYouMean}`}`;
  const discovered = config.useExtensions
    ? await discover({
        roots: config.pluginDirs,
        cwd: config.cwd,
        rootsNamed: config.pluginDirsNamed,
        withFiles: config.cache !== false,
        ...(rootNote === undefined || config.pluginDirsNamed ? {} : { rootNote }),
      })
    : { plugins: [], rejected: [] };
  const admitted = await admit(discovered.plugins, config, {
    logger,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.reload === undefined ? {} : { reload: options.reload }),
  });
  const { plugins } = admitted;
  const { registry, rejected: conflicts, disabledInfo } = register(config, plugins, logger);
  const rejected = [...discovered.rejected, ...admitted.rejected, ...conflicts];
  const durationMs = Math.round((performance.now() - started) * 100) / 100;

  for (const h of registry.list()) {
    logger.info(
      {
        event: 'handler.registered',
        name: h.name,
        requestType: h.requestType,
        handlerType: h.handlerType,
        source: h.source,
      },
      'registered handler',
    );
  }
  for (const r of rejected) {
    logger[r.level](
      { event: 'plugin.rejected', source: r.source, code: r.code, message: r.message },
      'rejected plugin',
    );
  }
  const requestTypes = Object.fromEntries(
    registry.requestTypes().map((t) => [t, { complete: registry.isComplete(t) }]),
  );
  logger.info(
    {
      event: 'boot.summary',
      ...registry.stats(),
      plugins: plugins.length,
      fromCache: plugins.filter((p) => p.cached).length,
      rejected: rejected.filter((r) => r.level === 'error').length,
      warnings: rejected.filter((r) => r.level === 'warn').length,
      types: requestTypes,
      useExtensions: config.useExtensions,
      durationMs,
    },
    'boot complete',
  );

  const logSelection = (selection: Selection): Selection => {
    const fields = {
      event: 'selection',
      requestType: selection.requestType,
      source: selection.source,
      region: selection.region.name,
      image: selection.image.name,
      fallback: selection.fallback,
    };
    if (selection.fallback)
      logger.warn(
        { ...fields, fallbackReason: selection.fallbackReason },
        'falling back to the built-in http handlers',
      );
    else logger.info(fields, 'selected handlers');
    return selection;
  };
  const context = { registry, config, rejected };
  const extensions: Extensions = {
    config,
    registry,
    rejected,
    disabled: disabledInfo,
    durationMs,
    resolve: (resolveOptions) => logSelection(resolveSelection(context, resolveOptions)),
    instantiate: (selection, deps) => instantiate(selection, deps),
    async start(startOptions = {}) {
      const { deps = {}, ...resolveOptions } = startOptions;
      const selection = extensions.resolve(resolveOptions);
      try {
        return await instantiate(selection, deps);
      } catch (error) {
        if (!config.fallbackEnabled || selection.fallback || !(error instanceof ExtensionError)) throw error;
        return instantiate(logSelection(fallbackSelection(selection, error)), deps);
      }
    },
  };
  return extensions;
}

export { assertStrict };
