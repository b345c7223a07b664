import { describe, expect, it } from 'vitest';
import { BUILTIN_HANDLERS } from '../../src/plugin/builtins.js';
import { ImageRequestHandler, RegionRequestHandler } from '../../src/handlers/index.js';
import { instantiate } from '../../src/select/instantiate.js';
import type { RegisteredHandler } from '../../src/plugin/registry.js';
import type { Selection } from '../../src/select/resolve.js';

const order: string[] = [];
class Region {
  constructor(readonly deps: Record<string, unknown>) {
    order.push('region');
  }
  processRegionRequest(): void {}
}
class Image {
  constructor(readonly deps: Record<string, unknown>) {
    order.push('image');
  }
  processImageRequest(): void {}
}
const region = (patch: Partial<RegisteredHandler> = {}): RegisteredHandler => ({
  ...BUILTIN_HANDLERS.region,
  name: 'r',
  load: async () => Region,
  source: 'plugins/r/index.mjs',
  ...patch,
});
const image = (patch: Partial<RegisteredHandler> = {}): RegisteredHandler => ({
  ...BUILTIN_HANDLERS.image,
  name: 'i',
  load: async () => Image,
  source: 'plugins/i/index.mjs',
  ...patch,
});
const select = (r: RegisteredHandler, i: RegisteredHandler): Selection => ({
  requestType: 'x',
  source: 'argument',
  fallback: false,
  region: r,
  image: i,
});

describe('instantiate', () => {
  it('builds the region handler first and hands it to the image handler', async () => {
    order.length = 0;
    const table = { name: 'table' };
    const pair = await instantiate<Region, Image>(
      select(region({ requires: ['table'] }), image({ requires: ['table', 'regionRequestHandler'] })),
      { table },
    );
    expect(order).toEqual(['region', 'image']);
    expect(pair.region.deps['table']).toBe(table);
    expect(pair.image.deps['regionRequestHandler']).toBe(pair.region);
    expect(pair.image.deps['table']).toBe(table);
    expect(pair.region.deps['regionRequestHandler']).toBeUndefined();
  });

  it('lists every missing dependency and the handler', async () => {
    await expect(
      instantiate(select(region({ requires: ['table', 'queue', 'monitor'] }), image()), { table: 1 }),
    ).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
      message: expect.stringMatching(/"r".*queue, monitor/),
    });
  });

  it('counts a dependency passed as undefined (an optional client left unconfigured) as missing', async () => {
    order.length = 0;
    await expect(
      instantiate(select(region({ requires: ['modelInvoker', 'table'] }), image()), {
        table: {},
        modelInvoker: undefined,
      }),
    ).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
      params: { name: 'r', missing: ['modelInvoker'], available: ['modelInvoker', 'table'] },
    });
    expect(order).toEqual([]);
  });

  it('does not take a dependency from the deps object’s prototype', async () => {
    const deps = Object.create({ modelInvoker: {} }) as Record<string, unknown>;
    await expect(instantiate(select(region({ requires: ['modelInvoker'] }), image()), deps)).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
      params: { missing: ['modelInvoker'] },
    });
  });

  it('accepts any defined value, falsy ones included', async () => {
    const pair = await instantiate<Region, Image>(select(region({ requires: ['zero', 'off', 'none'] }), image()), {
      zero: 0,
      off: false,
      none: null,
    });
    expect(pair.region.deps).toEqual({ zero: 0, off: false, none: null });
  });

  it('checks the image handler too, and builds nothing further', async () => {
    order.length = 0;
    await expect(instantiate(select(region(), image({ requires: ['queue'] })), {})).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
      message: expect.stringContaining('"i"'),
    });
    expect(order).toEqual(['region']);
  });

  it('wraps a throwing constructor with its cause', async () => {
    const cause = new Error('cannot connect');
    class Throws {
      constructor() {
        throw cause;
      }
      processRegionRequest(): void {}
    }
    await expect(instantiate(select(region({ load: async () => Throws }), image()), {})).rejects.toMatchObject({
      code: 'HANDLER_CONSTRUCTION_FAILED',
      cause,
    });
  });

  it('builds the built-in pair with no deps at all', async () => {
    const pair = await instantiate(select(BUILTIN_HANDLERS.region, BUILTIN_HANDLERS.image));
    expect(pair.region).toBeInstanceOf(RegionRequestHandler);
    expect(pair.image).toBeInstanceOf(ImageRequestHandler);
  });
});
