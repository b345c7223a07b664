/**
 * Asynchronous SageMaker endpoint handlers (request type `async_sm_endpoint`).
 *
 * An example of the plain-object manifest form: `export const manifests = [...]`, no decorators.
 * Each tile goes through the host's `sagemakerRuntime`: its bytes are put in S3 under the input
 * location, the endpoint is invoked with it, and the host polls the output and failure locations
 * (its requests bounded however many tiles wait). Waiting costs nothing here, so the image handler
 * keeps several regions in flight at once.
 */
import {
  ImageRequestHandler,
  mapBounded,
  RegionRequestHandler,
  type ImageHandlerDeps,
  type ManifestInput,
  type ProcessingResult,
  type RegionRequest,
} from 'osml-extensions';
import { asyncInvoker, runtimeOf, type SageMakerRegionDeps } from '../_shared/sagemaker.js';

/** What the region handler is constructed with. */
export type AsyncSageMakerRegionDeps = SageMakerRegionDeps;

/** What the image handler is constructed with. */
export interface AsyncSageMakerImageDeps extends ImageHandlerDeps {
  /** Regions processed at once. @default 4 */
  regionsInFlight?: number;
}

/** Sends each tile to an asynchronous endpoint and waits for its result. */
export class AsyncSageMakerRegionHandler extends RegionRequestHandler {
  /** @throws TypeError when `deps.sagemakerRuntime` is not the host's SageMaker runtime. */
  constructor(deps: AsyncSageMakerRegionDeps) {
    super({ ...deps, modelInvoker: asyncInvoker(runtimeOf(deps)) });
  }
}

/** Keeps up to `regionsInFlight` regions in flight; results keep region order. */
export class AsyncSageMakerImageHandler extends ImageRequestHandler {
  readonly #regionsInFlight: number;

  constructor(deps: AsyncSageMakerImageDeps) {
    super(deps);
    this.#regionsInFlight = deps.regionsInFlight ?? 4;
  }

  /** Process regions with up to `regionsInFlight` at once; results keep region order. */
  protected override processRegions(requests: readonly RegionRequest[]): Promise<ProcessingResult[]> {
    return mapBounded(requests, this.#regionsInFlight, (request) => this.processRegion(request));
  }
}

/** The two handlers, declared as plain objects. */
export const manifests: ManifestInput[] = [
  {
    requestType: 'async_sm_endpoint',
    handlerType: 'REGION_REQUEST_HANDLER',
    name: 'async-sm-endpoint-region',
    description: 'Submits each tile to an asynchronous SageMaker endpoint and polls for the result.',
    supportedEndpoints: ['async_sagemaker'],
    requires: ['sagemakerRuntime'],
    version: '1.0.0',
    handler: AsyncSageMakerRegionHandler,
  },
  {
    requestType: 'async_sm_endpoint',
    handlerType: 'IMAGE_REQUEST_HANDLER',
    name: 'async-sm-endpoint-image',
    description: 'Keeps several regions in flight against an asynchronous endpoint.',
    supportedEndpoints: ['async_sagemaker'],
    version: '1.0.0',
    handler: AsyncSageMakerImageHandler,
  },
];
