/**
 * SageMaker endpoint handlers (request type `sm_endpoint`).
 *
 * An example plugin, written the way you would write yours: a folder with an `index.mjs` that
 * exports classes declared with `registerHandler`. The region handler sends each tile to a
 * synchronous SageMaker endpoint through the `sagemakerRuntime` service the host provides
 * (`requires`), so the plugin never holds credentials itself.
 */
import { HandlerType, ImageRequestHandler, RegionRequestHandler, registerHandler } from 'osml-extensions';
import { parseFeatureCollection, tileBody } from '../_shared/sagemaker.mjs';

export const SageMakerRegionHandler = registerHandler({
  requestType: 'sm_endpoint',
  handlerType: HandlerType.REGION_REQUEST_HANDLER,
  name: 'sm-endpoint-region',
  description: 'Invokes a synchronous SageMaker endpoint once per tile.',
  supportedEndpoints: ['sagemaker'],
  requires: ['sagemakerRuntime'],
  version: '1.0.0',
})(
  class SageMakerRegionHandler extends RegionRequestHandler {
    /** `tile.endpoint` is the SageMaker endpoint name. */
    async invokeModel(tile) {
      const response = await this.deps.sagemakerRuntime.invokeEndpoint({
        EndpointName: tile.endpoint,
        ContentType: 'application/json',
        Accept: 'application/geo+json',
        Body: tileBody(tile),
      });
      return parseFeatureCollection(response.Body, tile.endpoint);
    }
  },
);

export const SageMakerImageHandler = registerHandler({
  requestType: 'sm_endpoint',
  handlerType: HandlerType.IMAGE_REQUEST_HANDLER,
  name: 'sm-endpoint-image',
  description: 'Splits the image into regions for the SageMaker region handler.',
  supportedEndpoints: ['sagemaker'],
  version: '1.0.0',
})(class SageMakerImageHandler extends ImageRequestHandler {});
