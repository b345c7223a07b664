/**
 * The async-sm-endpoint plugin's own test, written as a plugin author writes one: it loads as the host loads it,
 * fills both slots of `async_sm_endpoint`, and sends every tile's bytes through the host's
 * `sagemakerRuntime` (a fake here; test/host/sagemaker-run.test.ts runs the real SDK client).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FeatureCollection, TileRequest } from 'osml-extensions';
import { buildHandlers, expectCompletePair, loadPluginFolder } from 'osml-extensions/testing';

const folder = fileURLToPath(new URL('.', import.meta.url));

/** A fake runtime: records each tile and answers one box at tile pixels (10..20, 10..20). */
function fakeRuntime() {
  const tiles: TileRequest[] = [];
  const answer = async (tile: TileRequest): Promise<FeatureCollection> => {
    tiles.push(tile);
    return {
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          geometry: null,
          properties: { imageBBox: [10, 10, 20, 20], featureClasses: [{ iri: 'ship', score: 0.9 }] },
        },
      ],
    };
  };
  return { tiles, maxBodyBytes: 6 * 1024 * 1024, invokeEndpoint: answer, invokeEndpointAsync: answer };
}

describe('async-sm-endpoint', () => {
  it('loads without refusals and fills both slots', async () => {
    const plugin = await loadPluginFolder(folder);
    expect(plugin.rejected.map((r) => r.message)).toEqual([]);
    const { region, image } = expectCompletePair(plugin, 'async_sm_endpoint');
    expect([region.name, image.name]).toEqual(['async-sm-endpoint-region', 'async-sm-endpoint-image']);
  });

  it('sends every tile through sagemakerRuntime.invokeEndpointAsync and returns the boxes in image pixels', async () => {
    const plugin = await loadPluginFolder(folder);
    const sagemakerRuntime = fakeRuntime();
    const { image } = await buildHandlers(plugin, 'async_sm_endpoint', {
      sagemakerRuntime,
      tiling: { tileSize: 512, tileOverlap: 0 },
    });
    const result = await image.processImageRequest({
      imageId: 'img',
      endpoint: 'my-endpoint',
      width: 1024,
      height: 512,
    });
    expect(sagemakerRuntime.tiles.map((t) => [t.endpoint, t.bounds.x])).toEqual([
      ['my-endpoint', 0],
      ['my-endpoint', 512],
    ]);
    expect(result.features.map((f) => f.properties?.['imageBBox'])).toEqual([
      [10, 10, 20, 20],
      [522, 10, 532, 20],
    ]);
  });
});
