/**
 * SageMaker endpoint handlers (request type `sm_endpoint`).
 *
 * An example plugin, written the way you would write yours: a folder with an `index.ts` (loaded
 * as it is, no build step) whose exported classes are declared with the `@registerHandler`
 * decorator. The region handler sends each tile to a synchronous SageMaker endpoint through the
 * `sagemakerRuntime` service the host provides (`requires`), so the plugin never holds credentials.
 */
import {
  HandlerType,
  ImageRequestHandler,
  RegionRequestHandler,
  registerHandler,
  type FeatureCollection,
  type RegionHandlerDeps,
  type TileRequest,
} from 'osml-extensions';
import { parseFeatureCollection, tileBody, type SageMakerRuntime } from '../_shared/sagemaker.js';

/** What the region handler is constructed with: the host's services, `sagemakerRuntime` among them. */
export interface SageMakerRegionDeps extends RegionHandlerDeps {
  sagemakerRuntime: SageMakerRuntime;
}

/** Invokes a synchronous SageMaker endpoint once per tile. */
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
  readonly #runtime: SageMakerRuntime;

  constructor(deps: SageMakerRegionDeps) {
    super(deps);
    this.#runtime = deps.sagemakerRuntime;
  }

  /** `tile.endpoint` is the SageMaker endpoint name. */
  protected override async invokeModel(tile: TileRequest): Promise<FeatureCollection> {
    const response = await this.#runtime.invokeEndpoint({
      EndpointName: tile.endpoint,
      ContentType: 'application/json',
      Accept: 'application/geo+json',
      Body: tileBody(tile),
    });
    return parseFeatureCollection(response.Body, tile.endpoint);
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
