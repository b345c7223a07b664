/**
 * Asynchronous SageMaker endpoint handlers (request type `async_sm_endpoint`).
 *
 * An example of the plain-object manifest form: `export const manifests = [...]`. Async endpoints
 * queue requests, so the region handler submits each tile and polls for its output, and the
 * image handler keeps several regions in flight at once.
 */
import { ImageRequestHandler, RegionRequestHandler } from 'osml-extensions';
import { parseFeatureCollection, tileBody } from '../_shared/sagemaker.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class AsyncSageMakerRegionHandler extends RegionRequestHandler {
  constructor(deps) {
    super(deps);
    this.pollIntervalMs = deps.asyncPolling?.intervalMs ?? 1000;
    this.maxPolls = deps.asyncPolling?.maxPolls ?? 300;
  }

  /** Submit the tile, then poll its output location until the result is there. */
  async invokeModel(tile) {
    const runtime = this.deps.sagemakerRuntime;
    const { OutputLocation } = await runtime.invokeEndpointAsync({
      EndpointName: tile.endpoint,
      ContentType: 'application/json',
      Body: tileBody(tile),
    });
    for (let poll = 0; poll < this.maxPolls; poll++) {
      const body = await runtime.getOutput(OutputLocation);
      if (body !== undefined) return parseFeatureCollection(body, tile.endpoint);
      await sleep(this.pollIntervalMs);
    }
    throw new Error(`No output at ${OutputLocation} from async endpoint ${tile.endpoint} after ${this.maxPolls} polls`);
  }
}

export class AsyncSageMakerImageHandler extends ImageRequestHandler {
  constructor(deps) {
    super(deps);
    this.regionsInFlight = deps.regionsInFlight ?? 4;
  }

  /** Process regions with up to `regionsInFlight` at once; results keep region order. */
  async processRegions(requests) {
    const results = new Array(requests.length);
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const index = next++;
        results[index] = await this.processRegion(requests[index]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.regionsInFlight, requests.length) }, worker));
    return results;
  }
}

export const manifests = [
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
