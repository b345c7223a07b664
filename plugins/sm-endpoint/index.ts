/**
 * SageMaker endpoint handlers (request type `sm_endpoint`).
 *
 * An example plugin, written the way you would write yours: a folder with an `index.ts` (loaded
 * as it is, no build step) whose exported classes are declared with the `@registerHandler`
 * decorator. The region handler sends each tile's bytes to a real-time SageMaker endpoint through
 * the `sagemakerRuntime` service the host provides (`requires`), so the plugin never holds
 * credentials; the base class reads, encodes and sends the tiles and reads the model's answers.
 */
import { HandlerType, ImageRequestHandler, RegionRequestHandler, registerHandler } from 'osml-extensions';
import { realTimeInvoker, runtimeOf, type SageMakerRegionDeps } from '../_shared/sagemaker.js';

export type { SageMakerRegionDeps };

/** Invokes a real-time SageMaker endpoint once per tile (`tile.endpoint` is the endpoint name). */
@registerHandler({
  requestType: 'sm_endpoint',
  handlerType: HandlerType.REGION_REQUEST_HANDLER,
  name: 'sm-endpoint-region',
  description: 'Invokes a synchronous SageMaker endpoint once per tile.',
  supportedEndpoints: ['sagemaker'],
  requires: ['sagemakerRuntime'],
  version: '1.0.0',
})
export class SageMakerRegionHandler extends RegionRequestHandler {
  /** @throws TypeError when `deps.sagemakerRuntime` is not the host's SageMaker runtime. */
  constructor(deps: SageMakerRegionDeps) {
    super({ ...deps, modelInvoker: realTimeInvoker(runtimeOf(deps)) });
  }
}

/** Splits the image into regions for the SageMaker region handler (the base class does it all). */
@registerHandler({
  requestType: 'sm_endpoint',
  handlerType: HandlerType.IMAGE_REQUEST_HANDLER,
  name: 'sm-endpoint-image',
  description: 'Splits the image into regions for the SageMaker region handler.',
  supportedEndpoints: ['sagemaker'],
  version: '1.0.0',
})
export class SageMakerImageHandler extends ImageRequestHandler {}
