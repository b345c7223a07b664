/**
 * Code shared by the SageMaker plugins. Folders starting with `_` are not plugins: the loader
 * skips them, so they are the place for helpers that several plugins import (with a relative path).
 */
import type { ModelInvoker, RegionHandlerDeps, SageMakerRuntime } from 'osml-extensions';

export type { SageMakerRuntime };

/** What a SageMaker region handler is constructed with: the host's services, `sagemakerRuntime` among them. */
export interface SageMakerRegionDeps extends RegionHandlerDeps {
  sagemakerRuntime: SageMakerRuntime;
}

/** The host's runtime, checked: a clear constructor error beats a `TypeError` on the first tile. */
export function runtimeOf(deps: SageMakerRegionDeps): SageMakerRuntime {
  const runtime = deps.sagemakerRuntime as Partial<SageMakerRuntime> | undefined;
  if (typeof runtime?.invokeEndpoint !== 'function' || typeof runtime.invokeEndpointAsync !== 'function')
    throw new TypeError('`sagemakerRuntime` must have invokeEndpoint(tile) and invokeEndpointAsync(tile)');
  return runtime as SageMakerRuntime;
}

/**
 * The runtime's real-time inference as the region handler's model invoker. Its `maxBodyBytes`
 * (6 MB) makes the region handler refuse a larger tile with TILE_TOO_LARGE before any call.
 */
export function realTimeInvoker(runtime: SageMakerRuntime): ModelInvoker {
  return { maxBodyBytes: runtime.maxBodyBytes, invoke: (tile) => runtime.invokeEndpoint(tile) };
}

/** The runtime's asynchronous inference (tile → S3 → InvokeEndpointAsync → result) as a model invoker. */
export function asyncInvoker(runtime: SageMakerRuntime): ModelInvoker {
  return { invoke: (tile) => runtime.invokeEndpointAsync(tile) };
}
