import { describe, expect, it } from 'vitest';
import type { RegisteredHandler } from '../../src/plugin/registry.js';
import { Registry } from '../../src/plugin/registry.js';
import { HandlerType } from '../../src/shared/types.js';

const entry = (
  requestType: string,
  handlerType: HandlerType,
  name: string,
  source = `plugins/${name}/index.mjs`,
): RegisteredHandler => ({
  requestType,
  handlerType,
  name,
  source,
  load: async () => class {},
});
const R = HandlerType.REGION_REQUEST_HANDLER;
const I = HandlerType.IMAGE_REQUEST_HANDLER;

describe('Registry', () => {
  it('holds one handler per slot and reports completeness', () => {
    const registry = new Registry();
    registry.add(entry('a', R, 'a-region'));
    expect(registry.isComplete('a')).toBe(false);
    registry.add(entry('a', I, 'a-image'));
    expect(registry.isComplete('a')).toBe(true);
    expect(registry.get('a', R)?.name).toBe('a-region');
    expect(registry.get('a', I)?.name).toBe('a-image');
    expect(registry.get('b', R)).toBeUndefined();
  });

  it('rejects a second handler for a filled slot, naming both files and the one kept', () => {
    const registry = new Registry();
    registry.add(entry('a', R, 'first', 'plugins/first/index.mjs'));
    let caught: unknown;
    try {
      registry.add(entry('a', R, 'second', 'plugins/second/index.mjs'));
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'DUPLICATE_SLOT' });
    const message = (caught as Error).message;
    expect(message).toContain('plugins/first/index.mjs');
    expect(message).toContain('plugins/second/index.mjs');
    expect(message).toContain('kept "first"');
    expect(registry.get('a', R)?.name).toBe('first');
    expect(registry.byName('second')).toBeUndefined();
  });

  it('rejects a taken name even in another slot', () => {
    const registry = new Registry();
    registry.add(entry('a', R, 'same', 'plugins/one/index.mjs'));
    expect(() => registry.add(entry('b', R, 'same', 'plugins/two/index.mjs'))).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_NAME', message: expect.stringContaining('plugins/two/index.mjs') }),
    );
    expect(registry.get('b', R)).toBeUndefined();
  });

  it('lists in registration order and request types sorted', () => {
    const registry = new Registry();
    registry.add(entry('zeta', R, 'z'));
    registry.add(entry('alpha', I, 'a'));
    expect(registry.list().map((h) => h.name)).toEqual(['z', 'a']);
    expect(registry.requestTypes()).toEqual(['alpha', 'zeta']);
  });

  it('unregisters by name, freeing the slot and the name', () => {
    const registry = new Registry();
    registry.add(entry('a', R, 'a-region'));
    expect(registry.unregister('a-region')).toBe(true);
    expect(registry.unregister('a-region')).toBe(false);
    expect(registry.requestTypes()).toEqual([]);
    registry.add(entry('a', R, 'a-region'));
    expect(registry.get('a', R)?.name).toBe('a-region');
  });

  it('unregistering one handler of a pair keeps the other in its slot', () => {
    const registry = new Registry();
    registry.add(entry('a', R, 'a-region'));
    registry.add(entry('a', I, 'a-image'));
    registry.unregister('a-region');
    expect(registry.get('a', I)?.name).toBe('a-image');
    expect(registry.requestTypes()).toEqual(['a']);
    expect(registry.isComplete('a')).toBe(false);
  });

  it('counts handlers and complete and incomplete types', () => {
    const registry = new Registry();
    registry.add(entry('a', R, 'a-region'));
    registry.add(entry('a', I, 'a-image'));
    registry.add(entry('b', R, 'b-region'));
    expect(registry.stats()).toEqual({ handlers: 3, requestTypes: 2, complete: 1, incomplete: 1 });
  });

  it('keeps instances independent', () => {
    const one = new Registry();
    const two = new Registry();
    one.add(entry('a', R, 'a-region'));
    expect(two.list()).toEqual([]);
  });

  it('is safe with request types named like Object.prototype members', () => {
    const registry = new Registry();
    registry.add(entry('constructor', R, 'c'));
    expect(registry.get('constructor', R)?.name).toBe('c');
    expect(registry.get('tostring', R)).toBeUndefined();
    expect(registry.isComplete('hasownproperty')).toBe(false);
  });
});
