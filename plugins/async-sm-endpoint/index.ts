/**
 * Asynchronous SageMaker endpoint handlers (request type `async_sm_endpoint`).
 *
 * An example of the plain-object manifest form: `export const manifests = [...]`, no decorators.
 * Async endpoints queue requests, so the region handler submits each tile and polls for its
 * output, and the image handler keeps several regions in flight at once.
 */
import {
  ImageRequestHandler,
  RegionRequestHandler,
  type FeatureCollection,
  type ImageHandlerDeps,
  type ManifestInput,
  type RegionHandlerDeps,
  type RegionRequest,
  type TileRequest,
} from 'osml-extensions';
import { parseFeatureCollection, tileBody, type AsyncSageMakerRuntime } from '../_shared/sagemaker.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the region handler is constructed with. */
export interface AsyncSageMakerRegionDeps extends RegionHandlerDeps {
  sagemakerRuntime: AsyncSageMakerRuntime;
  /** How often and how long to poll for a tile's output. @default { intervalMs: 1000, maxPolls: 300 } */
  asyncPolling?: { intervalMs?: number; maxPolls?: number };
}

/** What the image handler is constructed with. */
export interface AsyncSageMakerImageDeps extends ImageHandlerDeps {
  /** Regions processed at once. @default 4 */
  regionsInFlight?: number;
}

/** Submits each tile to an asynchronous endpoint and polls until its output is there. */
export class AsyncSageMakerRegionHandler extends RegionRequestHandler {
  readonly #runtime: AsyncSageMakerRuntime;
  readonly #pollIntervalMs: number;
  readonly #maxPolls: number;

  constructor(deps: AsyncSageMakerRegionDeps) {
    super(deps);
    this.#runtime = deps.sagemakerRuntime;
    this.#pollIntervalMs = deps.asyncPolling?.intervalMs ?? 1000;
    this.#maxPolls = deps.asyncPolling?.maxPolls ?? 300;
  }

  /** Submit the tile, then poll its output location until the result is there. */
  protected override async invokeModel(tile: TileRequest): Promise<FeatureCollection> {
    const { OutputLocation } = await this.#runtime.invokeEndpointAsync({
      EndpointName: tile.endpoint,
      ContentType: 'application/json',
      Body: tileBody(tile),
    });
    for (let poll = 0; poll < this.#maxPolls; poll++) {
      const body = await this.#runtime.getOutput(OutputLocation);
      if (body !== undefined) return parseFeatureCollection(body, tile.endpoint);
      await sleep(this.#pollIntervalMs);
    }
    throw new Error(
      `No output at ${OutputLocation} from async endpoint ${tile.endpoint} after ${this.#maxPolls} polls`,
    );
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
  protected override async processRegions(requests: readonly RegionRequest[]): Promise<FeatureCollection[]> {
    const results: FeatureCollection[] = new Array<FeatureCollection>(requests.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length) {
        const index = next++;
        results[index] = await this.processRegion(requests[index] as RegionRequest);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#regionsInFlight, requests.length) }, worker));
    return results;
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
