import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { attachedManifest, MANIFEST_KEY, registerHandler, validateManifest } from '../../src/plugin/manifest.js';
import { HandlerType } from '../../src/shared/types.js';
import { tempDir, writeTree } from '../helpers/index.js';

class Region {
  processRegionRequest(): void {}
}
class Image {
  processImageRequest(): void {}
}
const valid = {
  requestType: 'custom_processing',
  handlerType: 'REGION_REQUEST_HANDLER',
  name: 'custom-region',
  handler: Region,
};

function problemsOf(value: unknown): string {
  try {
    validateManifest(value, 'plugins/x/index.mjs');
  } catch (error) {
    expect(error).toMatchObject({ code: 'MANIFEST_INVALID' });
    expect((error as Error).message).toContain('plugins/x/index.mjs');
    return (error as Error).message;
  }
  throw new Error('expected MANIFEST_INVALID');
}

describe('validateManifest', () => {
  it('accepts a full manifest and keeps every field', () => {
    const full = {
      ...valid,
      description: 'd',
      supportedEndpoints: ['http'],
      requires: ['modelInvoker'],
      version: '1.2.3',
    };
    expect(validateManifest(full, 'f')).toEqual(full);
  });

  it('accepts the enum and its string value alike', () => {
    expect(validateManifest({ ...valid, handlerType: HandlerType.REGION_REQUEST_HANDLER }, 'f').handlerType).toBe(
      'REGION_REQUEST_HANDLER',
    );
  });

  it('rejects unknown keys and suggests the intended one', () => {
    const { requestType, ...rest } = valid;
    const message = problemsOf({ ...rest, requesttype: requestType });
    expect(message).toContain('requesttype: unknown key');
    expect(message).toContain('did you mean "requestType"');
    expect(message).toContain('requestType: required');
  });

  it('lists every problem as field: problem, with what was received', () => {
    const message = problemsOf({
      requestType: 42,
      handlerType: 'REGION',
      name: 'Bad Name',
      supportedEndpoints: 'http',
      requires: [1],
      handler: 'x',
    });
    for (const field of [
      'requestType: expected string, received 42',
      'handlerType:',
      'name:',
      'supportedEndpoints:',
      'requires.0:',
      'handler:',
    ]) {
      expect(message).toContain(field);
    }
    expect(message).toContain('"Bad Name"');
  });

  it.each([
    ['a name with upper case', { name: 'Custom' }],
    // Names that start well and go wrong later: only the pattern's end anchor refuses them.
    ['a name with a space after a good start', { name: 'ok name' }],
    ['a name with a slash after a good start', { name: 'a/b' }],
    ['a name with upper case after a good start', { name: 'aB' }],
    ['a name with a newline after a good start', { name: 'ok\n' }],
    ['a name longer than 128', { name: `a${'b'.repeat(128)}` }],
    ['a request type that goes wrong after a good start', { requestType: 'ok-type' }],
    ['a request type starting with a digit', { requestType: '1type' }],
    ['a request type longer than 64', { requestType: `a${'b'.repeat(64)}` }],
    ['a handler that is an arrow function', { handler: () => undefined }],
    ['a handler that is an instance', { handler: new Region() }],
    ['a handler lacking its method', { handler: Image }],
    ['an image handler lacking processImageRequest', { handlerType: 'IMAGE_REQUEST_HANDLER' }],
  ])('rejects %s', (_label, patch) => {
    problemsOf({ ...valid, ...patch });
  });

  it('names the missing method for the handler type, under the handler field', () => {
    expect(problemsOf({ ...valid, handler: Image })).toContain(
      'handler: class Image has no method processRegionRequest() (required for REGION_REQUEST_HANDLER)',
    );
  });

  it('calls a nameless class lacking its method "(anonymous)"', () => {
    const [nameless] = [class {}];
    expect(problemsOf({ ...valid, handler: nameless })).toContain('handler: class (anonymous) has no method');
  });

  it('turns a throwing getter into MANIFEST_INVALID instead of crashing', () => {
    const hostile = Object.defineProperty({ ...valid }, 'name', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(problemsOf(hostile)).toContain('(root): reading the manifest threw');
    try {
      validateManifest(hostile, 'f');
    } catch (error) {
      expect((error as Error).cause).toEqual(new Error('boom'));
    }
  });

  it('refuses own __proto__ and constructor keys without polluting anything', () => {
    const viaJson = Object.assign(JSON.parse('{"__proto__": {"polluted": true}}') as object, valid);
    expect(problemsOf(viaJson)).toContain('__proto__: unknown key');
    expect(problemsOf({ ...valid, constructor: { prototype: { polluted: true } } })).toContain(
      'constructor: unknown key',
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses a Proxy, even one that reads like a valid manifest', () => {
    expect(problemsOf(new Proxy({ ...valid }, {}))).toContain('Proxy');
    expect(problemsOf({ ...valid, handler: new Proxy(Region, {}) })).toContain('Proxy');
  });

  it.each([null, undefined, 'manifest', 42, []])('rejects a non-object manifest (%s)', (value) => {
    problemsOf(value);
  });
});

describe('registerHandler as a plain call', () => {
  it('returns the class and attaches the manifest under a Symbol.for key', () => {
    class Handler {
      processImageRequest(): void {}
    }
    const returned = registerHandler({ requestType: 'a_type', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'a-image' })(
      Handler,
    );
    expect(returned).toBe(Handler);
    expect(MANIFEST_KEY).toBe(Symbol.for('osml-extensions.manifest'));
    expect(attachedManifest(Handler)).toEqual({
      requestType: 'a_type',
      handlerType: 'IMAGE_REQUEST_HANDLER',
      name: 'a-image',
    });
  });

  it('validates at once with the same error', () => {
    class Handler {}
    expect(() =>
      registerHandler({ requestType: 'a_type', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'a-image' })(Handler),
    ).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID', message: expect.stringContaining('class Handler') }));
    expect(attachedManifest(Handler)).toBeUndefined();
  });

  it('names the class in the error, or "(anonymous)" for a nameless one', () => {
    const options = { requestType: 'a_type', handlerType: 'REGION_REQUEST_HANDLER', name: 'Bad' } as const;
    expect(() => registerHandler(options)(Region)).toThrow(
      expect.objectContaining({ params: expect.objectContaining({ file: 'class Region' }) }),
    );
    const [nameless] = [class extends Region {}];
    expect(() => registerHandler(options)(nameless)).toThrow(
      expect.objectContaining({ params: expect.objectContaining({ file: 'class (anonymous)' }) }),
    );
  });

  it.each([null, 'custom', 42])('refuses options that are not an object (%s) with MANIFEST_INVALID', (options) => {
    expect(() => registerHandler(options as never)(class extends Region {})).toThrow(
      expect.objectContaining({ code: 'MANIFEST_INVALID' }),
    );
  });

  it('refuses a handler key in the options, even naming a valid class', () => {
    const options = {
      requestType: 'a_type',
      handlerType: 'REGION_REQUEST_HANDLER',
      name: 'a',
      handler: Region,
    } as never;
    expect(() => registerHandler(options)(class extends Region {})).toThrow(
      expect.objectContaining({
        code: 'MANIFEST_INVALID',
        message: expect.stringContaining('handler: unknown key (registerHandler takes the class from the decorator)'),
      }),
    );
  });

  it('stores the manifest frozen and out of sight of spreads and Object.assign', () => {
    const Handler = registerHandler({ requestType: 'a_type', handlerType: 'REGION_REQUEST_HANDLER', name: 'a' })(
      class extends Region {},
    );
    expect(MANIFEST_KEY in { ...Handler }).toBe(false);
    expect(attachedManifest(Object.assign(function copy() {}, Handler))).toBeUndefined();
    expect(Object.isFrozen(attachedManifest(Handler))).toBe(true);
  });

  it('does not treat an undecorated subclass as a handler', () => {
    const Base = registerHandler({ requestType: 'a_type', handlerType: 'REGION_REQUEST_HANDLER', name: 'base' })(
      class extends Region {},
    );
    class Sub extends Base {}
    expect(attachedManifest(Base)).toBeDefined();
    expect(attachedManifest(Sub)).toBeUndefined();
  });

  it('keeps no global state: two decorations do not see each other', () => {
    const A = registerHandler({ requestType: 'a_type', handlerType: 'REGION_REQUEST_HANDLER', name: 'same' })(
      class extends Region {},
    );
    const B = registerHandler({ requestType: 'a_type', handlerType: 'REGION_REQUEST_HANDLER', name: 'same' })(
      class extends Region {},
    );
    expect(attachedManifest(A)).toEqual(attachedManifest(B));
  });
});

describe('registerHandler as a TypeScript decorator', () => {
  const source = `
import { registerHandler, HandlerType } from 'osml-extensions';
@registerHandler({ requestType: 'ts_type', handlerType: HandlerType.REGION_REQUEST_HANDLER, name: 'ts-region' })
export class TsRegion { processRegionRequest() { return 'ok'; } }
`;

  // Compile with the real TypeScript compiler in both decorator modes, then import the output
  // natively: this is exactly what a TS plugin author's build produces.
  it.each([
    ['standard (TC39) decorators', { experimentalDecorators: false }],
    ['legacy experimentalDecorators', { experimentalDecorators: true }],
  ])('works with %s', async (_label, options) => {
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, ...options },
    });
    expect(outputText).toMatch(options.experimentalDecorators ? /__decorate/ : /__esDecorate/);
    const dir = await tempDir();
    // Resolve 'osml-extensions' to this package's build, as an installed plugin would.
    const dist = pathToFileURL(path.resolve('dist/index.js')).href;
    await writeTree(dir, { 'plugin.mjs': outputText.replace("'osml-extensions'", `'${dist}'`) });
    const mod = (await import(pathToFileURL(path.join(dir, 'plugin.mjs')).href)) as {
      TsRegion: new () => { processRegionRequest(): string };
    };
    expect(attachedManifest(mod.TsRegion)).toEqual({
      requestType: 'ts_type',
      handlerType: 'REGION_REQUEST_HANDLER',
      name: 'ts-region',
    });
    expect(new mod.TsRegion().processRegionRequest()).toBe('ok');
  });
});
