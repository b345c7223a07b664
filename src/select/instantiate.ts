/**
 * Construction with dependency injection: check each handler's `requires` against the host's
 * deps, build the region handler first, then the image handler with `regionRequestHandler`.
 */
import type { ImageProcessor, RegionProcessor } from '../handlers/types.js';
import { ExtensionError, describeThrown } from '../shared/errors.js';
import type { RegisteredHandler } from '../plugin/registry.js';
import type { Selection } from './resolve.js';
import type { Deps } from '../shared/types.js';

/** The constructed pair and the selection it came from. */
export interface HandlerPair<Region = RegionProcessor, Image = ImageProcessor> {
  region: Region;
  image: Image;
  selection: Selection;
}

/** Throw `DEPENDENCY_MISSING` listing every name in `requires` that `deps` lacks. */
export function checkDependencies(handler: RegisteredHandler, deps: Deps): void {
  const missing = (handler.requires ?? []).filter((name) => !Object.hasOwn(deps, name) || deps[name] === undefined);
  if (missing.length > 0) {
    throw new ExtensionError('DEPENDENCY_MISSING', {
      name: handler.name,
      source: handler.source,
      missing,
      available: Object.keys(deps).sort(),
    });
  }
}

async function construct(handler: RegisteredHandler, deps: Deps): Promise<unknown> {
  checkDependencies(handler, deps);
  const HandlerClass = (await handler.load()) as new (deps: Deps) => unknown;
  try {
    return new HandlerClass(deps);
  } catch (cause) {
    throw new ExtensionError(
      'HANDLER_CONSTRUCTION_FAILED',
      { name: handler.name, source: handler.source, reason: describeThrown(cause) },
      { cause },
    );
  }
}

/**
 * Build the selected pair. The region handler gets `deps`; the image handler gets `deps` plus
 * `regionRequestHandler`. Throws `DEPENDENCY_MISSING` or `HANDLER_CONSTRUCTION_FAILED`.
 * @example
 * const { region, image } = await instantiate(selection, { modelInvoker });
 */
export async function instantiate<Region = RegionProcessor, Image = ImageProcessor>(
  selection: Selection,
  deps: Deps = {},
): Promise<HandlerPair<Region, Image>> {
  const region = (await construct(selection.region, deps)) as Region;
  const image = (await construct(selection.image, { ...deps, regionRequestHandler: region })) as Image;
  return { region, image, selection };
}
