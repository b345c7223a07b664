/**
 * Code shared by the SageMaker plugins. Folders starting with `_` are not plugins: the loader
 * skips them, so they are the place for helpers that several plugins import.
 */

/** Turn a SageMaker response body (bytes or text) into a FeatureCollection, or say what came back. */
export function parseFeatureCollection(body, endpointName) {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const value = JSON.parse(text);
  if (value?.type !== 'FeatureCollection' || !Array.isArray(value.features)) {
    throw new Error(`SageMaker endpoint ${endpointName} returned ${text.slice(0, 80)}, expected a GeoJSON FeatureCollection`);
  }
  return value;
}

/** The request body sent for one tile. */
export function tileBody(tile) {
  return JSON.stringify({ imageId: tile.imageId, bounds: tile.bounds });
}
