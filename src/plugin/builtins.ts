/**
 * The built-in `http` handler pair: always registered first, and the pair a fallback uses.
 */
import { HttpModelInvoker, ImageRequestHandler, RegionRequestHandler, type HandlerLogger } from '../handlers/index.js';
import { createAwsServices } from '../services/aws.js';
import { toRegistered, type RegisteredHandler } from './registry.js';
import { HandlerType, type Deps } from '../shared/types.js';

/** The request type the built-ins serve, and the default. */
export const BUILTIN_REQUEST_TYPE = 'http';

/** The built-in region and image handlers, as registry entries. */
export const BUILTIN_HANDLERS: { readonly region: RegisteredHandler; readonly image: RegisteredHandler } =
  Object.freeze({
    region: toRegistered(
      {
        requestType: BUILTIN_REQUEST_TYPE,
        handlerType: HandlerType.REGION_REQUEST_HANDLER,
        name: 'http-region',
        description: 'Tiles a region and invokes the model over HTTP once per tile.',
        handler: RegionRequestHandler,
      },
      'builtin',
    ),
    image: toRegistered(
      {
        requestType: BUILTIN_REQUEST_TYPE,
        handlerType: HandlerType.IMAGE_REQUEST_HANDLER,
        name: 'http-image',
        description: 'Splits an image into regions and hands each to the region handler.',
        handler: ImageRequestHandler,
      },
      'builtin',
    ),
  });

/**
 * The services `osml-extensions start` hands to handler constructors: an HTTP model invoker, the
 * `sagemakerRuntime` service (on the AWS SDK, loaded only when a handler first calls it) and the
 * logger. A host embedding the library passes its own.
 *
 * @param options.asyncInputLocation - Where async SageMaker tiles go (config `asyncInputLocation`).
 */
export function defaultDeps(logger?: HandlerLogger, options: { asyncInputLocation?: string | undefined } = {}): Deps {
  const { sagemakerRuntime } = createAwsServices({
    asyncInputLocation: options.asyncInputLocation,
    logger,
  });
  return { modelInvoker: new HttpModelInvoker(), sagemakerRuntime, ...(logger === undefined ? {} : { logger }) };
}
