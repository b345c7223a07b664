import { describe, expect, it } from 'vitest';
import { BUILTIN_HANDLERS } from '../../src/plugin/builtins.js';
import type { ResolvedConfig } from '../../src/config.js';
import { Registry, type RegisteredHandler } from '../../src/plugin/registry.js';
import { inferRequestType, normalizeEndpoint, resolveSelection } from '../../src/select/resolve.js';
import { HandlerType } from '../../src/shared/types.js';
import type { Rejection } from '../../src/shared/errors.js';
import { makeConfig } from '../helpers/index.js';

const R = HandlerType.REGION_REQUEST_HANDLER;
const I = HandlerType.IMAGE_REQUEST_HANDLER;
const h = (
  requestType: string,
  handlerType: HandlerType,
  patch: Partial<RegisteredHandler> = {},
): RegisteredHandler => ({
  ...(handlerType === R ? BUILTIN_HANDLERS.region : BUILTIN_HANDLERS.image),
  requestType,
  name: `${requestType.replace(/_/g, '-')}-${handlerType === R ? 'region' : 'image'}`,
  source: `plugins/${requestType}/index.mjs`,
  ...patch,
});

function context(config: Partial<ResolvedConfig> = {}, rejected: Rejection[] = []) {
  const registry = new Registry();
  registry.add(BUILTIN_HANDLERS.region);
  registry.add(BUILTIN_HANDLERS.image);
  for (const type of ['sm_endpoint', 'async_sm_endpoint', 'custom']) {
    const endpoints =
      type === 'sm_endpoint' ? ['sagemaker'] : type === 'async_sm_endpoint' ? ['async_sagemaker'] : undefined;
    registry.add(h(type, R, endpoints ? { supportedEndpoints: endpoints } : {}));
    registry.add(h(type, I, endpoints ? { supportedEndpoints: endpoints } : {}));
  }
  registry.add(h('half', R));
  return { registry, config: makeConfig(config), rejected };
}

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return 'none';
};

const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'none';
};

describe('precedence: argument > env > config > endpoint > default', () => {
  const all = { requestType: { env: 'sm_endpoint', config: 'async_sm_endpoint' } };
  it.each([
    ['argument', { requestType: 'custom', endpoint: 'http' }, all, 'custom'],
    ['env', { endpoint: 'sagemaker' }, all, 'sm_endpoint'],
    ['config', { endpoint: 'sagemaker' }, { requestType: { config: 'custom' } }, 'custom'],
    ['endpoint', { endpoint: 'async_sagemaker' }, {}, 'async_sm_endpoint'],
    ['default', {}, {}, 'http'],
  ] as const)('%s wins', (source, options, config, expected) => {
    const selection = resolveSelection(context(config), options);
    expect(selection).toMatchObject({ requestType: expected, source, fallback: false });
    // An endpoint is reported only when one was given.
    expect(Object.hasOwn(selection, 'endpoint')).toBe('endpoint' in options);
    expect(selection.region.requestType).toBe(expected);
    expect(selection.image.requestType).toBe(expected);
  });
});

describe('endpoint inference', () => {
  it.each([
    ['async_sagemaker', 'async_sm_endpoint'],
    ['ASYNC', 'async_sm_endpoint'],
    ['sagemaker', 'sm_endpoint'],
    ['SageMaker', 'sm_endpoint'],
    ['sm', 'sm_endpoint'],
    ['http', 'http'],
    ['my_model_server', 'http'],
  ])('%s → %s', (endpoint, type) => {
    expect(inferRequestType(endpoint)).toBe(type);
  });

  it('normalizes sm to sagemaker so it matches supportedEndpoints', () => {
    expect(normalizeEndpoint(' SM ')).toBe('sagemaker');
    expect(resolveSelection(context(), { endpoint: 'sm' }).requestType).toBe('sm_endpoint');
  });

  it('rejects a malformed endpoint type, saying what it received and what is expected', () => {
    expect(codeOf(() => resolveSelection(context(), { endpoint: '../x' }))).toBe('CONFIG_INVALID');
    // A good start does not excuse what follows.
    for (const bad of ['sagemaker/../x', 'http x', `a${'b'.repeat(64)}`])
      expect(codeOf(() => resolveSelection(context(), { endpoint: bad }))).toBe('CONFIG_INVALID');
    // Names what was wrong, what it received, and what a good value looks like.
    const message = messageOf(() => normalizeEndpoint('../x'));
    for (const part of ['the endpoint type', 'endpoint: ', 'received "../x"', '"sagemaker"'])
      expect(message).toContain(part);
  });
});

describe('errors', () => {
  it('refuses a request type argument that is not a name', () => {
    for (const bad of ['../x.mjs', '/tmp/e.mjs', 'data:text/javascript,1', 'node:child_process', 'Upper']) {
      expect(codeOf(() => resolveSelection(context(), { requestType: bad }))).toBe('CONFIG_INVALID');
    }
    const message = messageOf(() => resolveSelection(context(), { requestType: 'Upper' }));
    for (const part of ['the requestType argument', 'requestType: ', 'received "Upper"', '"custom_processing"'])
      expect(message).toContain(part);
  });

  it.each([
    ['argument', { requestType: 'nope' }, {}, '"nope" (from the argument)'],
    ['env', {}, { requestType: { env: 'nope' } }, '"nope" (from REQUEST_TYPE)'],
    ['config', {}, { requestType: { config: 'nope' } }, '"nope" (from the config file)'],
    ['endpoint', { endpoint: 'sagemaker' }, {}, '"sm_endpoint" (from the endpoint type)'],
    ['default', {}, {}, '"http" (from the default)'],
  ] as const)('names where an unknown request type came from: %s', (_source, options, config, named) => {
    const ctx = { ...context(config), registry: new Registry() };
    expect(() => resolveSelection(ctx, options)).toThrow(named);
  });

  it('names the plugins that failed before declaring any request type, and only those', () => {
    const rejection = (source: string, code: string, patch: Partial<Rejection> = {}) =>
      ({ source, code, level: 'error', requestTypes: [], message: code, ...patch }) as Rejection;
    const unreadable = ['IMPORT_FAILED', 'IMPORT_TIMEOUT', 'MANIFEST_MISSING', 'VANISHED'].map((code, i) =>
      rejection(`plugins/u${i}/index.mjs`, code),
    );
    const readable = [
      rejection('plugins/declared/index.mjs', 'IMPORT_FAILED', { requestTypes: ['other'] }),
      rejection('plugins/warned/index.mjs', 'IMPORT_FAILED', { level: 'warn' }),
      rejection('plugins/invalid/index.mjs', 'MANIFEST_INVALID'),
    ];
    try {
      resolveSelection(context({}, [...readable, ...unreadable]), { requestType: 'nope' });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('could not be loaded');
      for (const { source, code } of unreadable) expect(message).toContain(`${source} (${code})`);
      for (const { source } of readable) expect(message).not.toContain(source);
    }
    try {
      resolveSelection(context({}, readable), { requestType: 'nope' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('could not be loaded');
      expect((error as { params: object }).params).not.toHaveProperty('unreadable');
    }
  });

  it('reports an unknown type with the known ones and the closest', () => {
    try {
      resolveSelection(context(), { requestType: 'sm_endpont' });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'UNKNOWN_REQUEST_TYPE' });
      const message = (error as Error).message;
      expect(message).toContain('async_sm_endpoint, custom, half, http, sm_endpoint');
      expect(message).toContain('Did you mean "sm_endpoint"');
    }
  });

  it('says when plugins are turned off', () => {
    const ctx = { ...context({ useExtensions: false }), registry: new Registry() };
    expect(() => resolveSelection(ctx, { requestType: 'custom' })).toThrow(/turned off/);
  });

  it('reports an incomplete type naming the empty slot', () => {
    expect(() => resolveSelection(context(), { requestType: 'half' })).toThrow(
      expect.objectContaining({
        code: 'INCOMPLETE_REQUEST_TYPE',
        message: expect.stringContaining('IMAGE_REQUEST_HANDLER'),
      }),
    );
  });

  it('reports a type with only an image handler as incomplete, naming the region slot and the handler present', () => {
    const ctx = context();
    ctx.registry.add(h('image_only', I));
    expect(() => resolveSelection(ctx, { requestType: 'image_only' })).toThrow(
      expect.objectContaining({
        code: 'INCOMPLETE_REQUEST_TYPE',
        params: expect.objectContaining({
          missing: 'REGION_REQUEST_HANDLER',
          present: 'IMAGE_REQUEST_HANDLER "image-only-image" (plugins/image_only/index.mjs)',
        }),
      }),
    );
  });

  it('mentions a refused plugin that declared the type', () => {
    const refused = {
      source: 'plugins/half-image/index.mjs',
      code: 'MANIFEST_INVALID',
      requestTypes: ['half'],
    } as Rejection;
    expect(() => resolveSelection(context({}, [refused]), { requestType: 'half' })).toThrow(
      /plugins\/half-image\/index\.mjs \(MANIFEST_INVALID\)/,
    );
    const other = { ...refused, requestTypes: ['other'] };
    expect(() => resolveSelection(context({}, [other]), { requestType: 'half' })).not.toThrow(/MANIFEST_INVALID/);
  });

  it('names each refused plugin once, even when it was refused for both slots', () => {
    const twice = { source: 'plugins/dup/index.mjs', code: 'DUPLICATE_SLOT', requestTypes: ['custom'] } as Rejection;
    try {
      resolveSelection(context({}, [twice, { ...twice }]), { requestType: 'custom' });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'SELECTED_PLUGIN_REFUSED' });
      expect((error as Error).message.split('plugins/dup/index.mjs')).toHaveLength(2);
    }
  });

  it('carries the refused plugin’s own error as the cause', () => {
    const cause = new Error('the plugin’s own error');
    const other = { source: 'plugins/o/index.mjs', code: 'DUPLICATE_SLOT', requestTypes: ['x'], error: new Error() };
    const refused = { source: 'plugins/dup/index.mjs', code: 'DUPLICATE_SLOT', requestTypes: ['custom'], error: cause };
    expect(() =>
      resolveSelection(context({}, [other, refused] as unknown as Rejection[]), { requestType: 'custom' }),
    ).toThrow(expect.objectContaining({ code: 'SELECTED_PLUGIN_REFUSED', cause }));
  });

  it('reports an endpoint a chosen handler does not list', () => {
    expect(() => resolveSelection(context(), { requestType: 'sm_endpoint', endpoint: 'http' })).toThrow(
      expect.objectContaining({ code: 'ENDPOINT_UNSUPPORTED', message: expect.stringContaining('sm-endpoint-region') }),
    );
    // absent supportedEndpoints means any
    expect(resolveSelection(context(), { requestType: 'custom', endpoint: 'anything' }).requestType).toBe('custom');
  });

  it('checks the image handler’s endpoints too, not only the region handler’s', () => {
    const ctx = context();
    ctx.registry.add(h('mixed', R));
    ctx.registry.add(h('mixed', I, { supportedEndpoints: ['sagemaker'] }));
    expect(() => resolveSelection(ctx, { requestType: 'mixed', endpoint: 'http' })).toThrow(
      expect.objectContaining({ code: 'ENDPOINT_UNSUPPORTED', message: expect.stringContaining('mixed-image') }),
    );
    const selection = resolveSelection(ctx, { requestType: 'mixed', endpoint: 'SageMaker' });
    expect(selection).toMatchObject({ requestType: 'mixed', endpoint: 'sagemaker', fallback: false });
  });
});

describe('fallback', () => {
  it.each([
    ['unknown', { requestType: 'nope' }, 'UNKNOWN_REQUEST_TYPE'],
    ['incomplete', { requestType: 'half' }, 'INCOMPLETE_REQUEST_TYPE'],
    ['endpoint unsupported', { requestType: 'sm_endpoint', endpoint: 'http' }, 'ENDPOINT_UNSUPPORTED'],
  ])('replaces %s with the built-in pair, never a mix', (_label, options, code) => {
    const selection = resolveSelection(context({ fallbackEnabled: true }), options);
    expect(selection.fallback).toBe(true);
    expect(selection.fallbackReason).toContain(code);
    expect(selection.requestType).toBe('http');
    expect(selection.region).toBe(BUILTIN_HANDLERS.region);
    expect(selection.image).toBe(BUILTIN_HANDLERS.image);
  });

  it('is off by default', () => {
    expect(codeOf(() => resolveSelection(context(), { requestType: 'half' }))).toBe('INCOMPLETE_REQUEST_TYPE');
  });

  it('does not hide a malformed selector', () => {
    expect(codeOf(() => resolveSelection(context({ fallbackEnabled: true }), { requestType: '../x' }))).toBe(
      'CONFIG_INVALID',
    );
  });
});
