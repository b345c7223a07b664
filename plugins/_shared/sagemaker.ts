/**
 * Code shared by the SageMaker plugins. Folders starting with `_` are not plugins: the loader
 * skips them, so they are the place for helpers that several plugins import (with a relative path).
 */
import type { FeatureCollection, TileRequest } from 'osml-extensions';

/** What is sent to an endpoint for one tile (the shape of the AWS SDK's `InvokeEndpoint` input). */
export interface InvokeEndpointInput {
  EndpointName: string;
  ContentType: string;
  Accept?: string;
  Body: string;
}

/**
 * The `sagemakerRuntime` service the host provides (`requires: ['sagemakerRuntime']`), so that a
 * plugin never holds credentials itself. A thin wrapper over the AWS SDK's SageMaker runtime fits.
 */
export interface SageMakerRuntime {
  /** Synchronous inference; the response body is the model's output. */
  invokeEndpoint(input: InvokeEndpointInput): Promise<{ Body: Uint8Array | string }>;
}

/** The runtime an asynchronous endpoint needs: submit, then poll the output location. */
export interface AsyncSageMakerRuntime {
  /** Queue one inference; its output appears later at `OutputLocation`. */
  invokeEndpointAsync(input: InvokeEndpointInput): Promise<{ OutputLocation: string }>;
  /** The output at a location, or `undefined` while it is not there yet. */
  getOutput(location: string): Promise<Uint8Array | string | undefined>;
}

/** Turn a SageMaker response body (bytes or text) into a FeatureCollection, or say what came back. */
export function parseFeatureCollection(body: Uint8Array | string, endpointName: string): FeatureCollection {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const value: unknown = JSON.parse(text);
  const candidate = value as Partial<FeatureCollection> | null;
  if (candidate?.type !== 'FeatureCollection' || !Array.isArray(candidate.features)) {
    throw new Error(
      `SageMaker endpoint ${endpointName} returned ${text.slice(0, 80)}, expected a GeoJSON FeatureCollection`,
    );
  }
  return value as FeatureCollection;
}

/** The request body sent for one tile. */
export function tileBody(tile: TileRequest): string {
  return JSON.stringify({ imageId: tile.imageId, bounds: tile.bounds });
}
