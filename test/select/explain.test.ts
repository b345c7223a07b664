/**
 * explain(): the request type's source (with the config file's path, the variable, the endpoint
 * rule), each slot's winner, and every loser with its reason: DUPLICATE_SLOT, disabled, refused,
 * endpoint, other request type. Failures are part of the result, with did-you-mean.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { explain, type Explanation, type SlotCandidate } from '../../src/select/explain.js';
import { loadExtensions } from '../../src/host/extensions.js';
import type { ResolveOptions } from '../../src/select/resolve.js';
import { pairPlugin, tempDir, writeTree } from '../helpers/index.js';

const half = (requestType: string, name: string) =>
  `class R { processRegionRequest() {} }\nexport default { requestType: '${requestType}', handlerType: 'REGION_REQUEST_HANDLER', name: '${name}', handler: R };\n`;
const invalidImage = (requestType: string) =>
  `export default { requestType: '${requestType}', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'broken-image', handler: 42 };\n`;

async function explainIn(
  files: Record<string, string>,
  options: ResolveOptions = {},
  more: { env?: Record<string, string>; configFile?: string } = {},
): Promise<Explanation> {
  const dir = await writeTree(await tempDir(), files);
  const config = await loadConfig({
    cwd: dir,
    env: more.env ?? {},
    ...(more.configFile === undefined ? {} : { configFile: more.configFile }),
  });
  const ext = await loadExtensions({ config });
  return explain(
    { registry: ext.registry, config: ext.config, rejected: ext.rejected, disabled: ext.disabled },
    options,
  );
}

const ofStatus = (candidates: SlotCandidate[], status: SlotCandidate['status']) =>
  candidates.filter((c) => c.status === status);

describe('explain: where the request type came from', () => {
  const plugins = {
    'plugins/arg/index.mjs': pairPlugin('arg_type'),
    'plugins/cfg/index.mjs': pairPlugin('cfg_type'),
    'plugins/env/index.mjs': pairPlugin('env_type'),
    'plugins/sm/index.mjs': pairPlugin('sm_endpoint'),
    'plugins/async/index.mjs': pairPlugin('async_sm_endpoint'),
  };

  it('argument: beats the env, the config (named by its relative path) and the endpoint, which are listed as overridden', async () => {
    const e = await explainIn(
      { ...plugins, 'conf/osml.json': JSON.stringify({ requestType: 'cfg_type', pluginDirs: ['../plugins'] }) },
      { requestType: 'arg_type', endpoint: 'sagemaker' },
      { env: { REQUEST_TYPE: 'env_type' }, configFile: 'conf/osml.json' },
    );
    expect(e.from).toEqual({ source: 'argument', requestType: 'arg_type' });
    expect(e.overridden.map((o) => o.source)).toEqual(['env', 'config', 'endpoint']);
    expect(e.overridden[1]).toMatchObject({ requestType: 'cfg_type', file: 'conf/osml.json' });
    expect(e.status).toBe('selected');
    expect(e.slots.region.winner).toMatchObject({ name: 'arg-type-region', source: 'plugins/arg/index.mjs' });
  });

  it('env: names the variable REQUEST_TYPE', async () => {
    const e = await explainIn(plugins, {}, { env: { REQUEST_TYPE: 'env_type' } });
    expect(e.from).toEqual({ source: 'env', requestType: 'env_type', variable: 'REQUEST_TYPE' });
  });

  it('config: names the config file relative to the working directory', async () => {
    const e = await explainIn({
      ...plugins,
      'osml-extensions.config.json': JSON.stringify({ requestType: 'cfg_type' }),
    });
    expect(e.from).toEqual({ source: 'config', requestType: 'cfg_type', file: 'osml-extensions.config.json' });
    expect(e.slots.image.winner).toMatchObject({ name: 'cfg-type-image' });
  });

  it.each([
    ['async_sagemaker', 'async_sm_endpoint', 'async'],
    ['SM', 'sm_endpoint', 'sagemaker'],
    ['triton', 'http', 'any other'],
  ])(
    'endpoint %s: gives %s and names the rule and the normalized endpoint type',
    async (endpoint, requestType, rule) => {
      const e = await explainIn(plugins, { endpoint });
      expect(e.from).toMatchObject({
        source: 'endpoint',
        requestType,
        endpoint: endpoint.toLowerCase() === 'sm' ? 'sagemaker' : endpoint.toLowerCase(),
      });
      expect(e.from.rule).toContain(rule);
      expect(e.endpoint).toBeDefined();
    },
  );

  it('default: http, with nothing overridden', async () => {
    const e = await explainIn(plugins);
    expect(e.from).toEqual({ source: 'default', requestType: 'http' });
    expect(e.overridden).toEqual([]);
    expect(e.slots.region.winner).toMatchObject({ name: 'http-region', source: 'builtin' });
  });

  it('a malformed request type argument throws CONFIG_INVALID', async () => {
    await expect(explainIn(plugins, { requestType: '../evil' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('explain: the candidates of each slot', () => {
  it('lists the DUPLICATE_SLOT loser in its slot with its source and message, and the winner says it was first', async () => {
    const e = await explainIn(
      { 'plugins/a/index.mjs': pairPlugin('dup', 'first'), 'plugins/b/index.mjs': pairPlugin('dup', 'second') },
      { requestType: 'dup' },
    );
    expect(e.slots.region.winner).toMatchObject({ name: 'first-region', source: 'plugins/a/index.mjs' });
    expect(e.slots.region.winner?.reason).toContain('DUPLICATE_SLOT');
    const [loser, ...rest] = ofStatus(e.slots.region.candidates, 'duplicate-slot');
    expect(rest).toEqual([]);
    expect(loser).toMatchObject({ name: 'second-region', source: 'plugins/b/index.mjs', code: 'DUPLICATE_SLOT' });
    expect(loser?.reason).toContain('plugins/a/index.mjs');
    expect(ofStatus(e.slots.image.candidates, 'duplicate-slot').map((c) => c.name)).toEqual(['second-image']);
  });

  it("lists other request types' handlers of the same handler type", async () => {
    const e = await explainIn(
      { 'plugins/a/index.mjs': pairPlugin('alpha'), 'plugins/b/index.mjs': pairPlugin('beta') },
      { requestType: 'alpha' },
    );
    expect(ofStatus(e.slots.region.candidates, 'other-request-type').map((c) => [c.name, c.requestType])).toEqual([
      ['http-region', 'http'],
      ['beta-region', 'beta'],
    ]);
    expect(ofStatus(e.slots.image.candidates, 'other-request-type').map((c) => c.name)).toEqual([
      'http-image',
      'beta-image',
    ]);
  });

  it('lists a handler disabled by config `disabled` in its slot, naming the config file', async () => {
    const e = await explainIn(
      {
        'osml-extensions.config.json': JSON.stringify({ disabled: ['first-image'] }),
        'plugins/a/index.mjs': pairPlugin('dup', 'first'),
        'plugins/b/index.mjs': pairPlugin('dup', 'second'),
      },
      { requestType: 'dup' },
    );
    expect(e.slots.image.winner).toMatchObject({ name: 'second-image', source: 'plugins/b/index.mjs' });
    const [disabled] = ofStatus(e.slots.image.candidates, 'disabled');
    expect(disabled).toMatchObject({ name: 'first-image', source: 'plugins/a/index.mjs' });
    expect(disabled?.reason).toContain('osml-extensions.config.json');
    expect(ofStatus(e.slots.region.candidates, 'disabled')).toEqual([]);
    expect(e.disabledUnknown).toEqual([]);
  });

  it('reports a `disabled` name that matches no handler, with did-you-mean', async () => {
    const e = await explainIn({
      'osml-extensions.config.json': JSON.stringify({ disabled: ['frist-image', 'zzz'] }),
      'plugins/a/index.mjs': pairPlugin('dup', 'first'),
    });
    expect(e.disabledUnknown).toEqual([{ name: 'frist-image', didYouMean: 'first-image' }, { name: 'zzz' }]);
  });

  it('lists a refused plugin that declared the request type with its code and source; an incomplete type fails', async () => {
    const e = await explainIn(
      { 'plugins/half/index.mjs': half('half', 'half-region'), 'plugins/broken/index.mjs': invalidImage('half') },
      { requestType: 'half' },
    );
    expect(e.status).toBe('failed');
    expect(e.error?.code).toBe('INCOMPLETE_REQUEST_TYPE');
    expect(e.selection).toBeUndefined();
    expect(e.slots.region.winner).toMatchObject({ name: 'half-region' });
    expect(e.slots.image.winner).toBeNull();
    expect(ofStatus(e.slots.image.candidates, 'refused')).toEqual([
      expect.objectContaining({ source: 'plugins/broken/index.mjs', code: 'MANIFEST_INVALID' }),
    ]);
  });

  it('a slot holder that lacks the endpoint type is a candidate, not the winner; the selection fails with ENDPOINT_UNSUPPORTED', async () => {
    const e = await explainIn(
      { 'plugins/sm/index.mjs': pairPlugin('sm_endpoint', 'sm', ", supportedEndpoints: ['sagemaker']") },
      { requestType: 'sm_endpoint', endpoint: 'http' },
    );
    expect(e.status).toBe('failed');
    expect(e.error?.code).toBe('ENDPOINT_UNSUPPORTED');
    expect(e.slots.region.winner).toBeNull();
    expect(ofStatus(e.slots.region.candidates, 'endpoint-unsupported')).toEqual([
      expect.objectContaining({ name: 'sm-region', code: 'ENDPOINT_UNSUPPORTED' }),
    ]);
  });
});

describe('explain: failures and fallback', () => {
  it('an unknown request type fails with UNKNOWN_REQUEST_TYPE and did-you-mean, and still lists what exists', async () => {
    const e = await explainIn({ 'plugins/sm/index.mjs': pairPlugin('sm_endpoint') }, { requestType: 'sm_endpont' });
    expect(e).toMatchObject({
      status: 'failed',
      requestType: 'sm_endpont',
      error: { code: 'UNKNOWN_REQUEST_TYPE', didYouMean: 'sm_endpoint' },
    });
    expect(e.slots.region.winner).toBeNull();
    expect(ofStatus(e.slots.region.candidates, 'other-request-type').map((c) => c.name)).toContain(
      'sm-endpoint-region',
    );
  });

  it('with fallback enabled, says so: status fallback, the built-in selection, and the error it replaced', async () => {
    const e = await explainIn(
      { 'plugins/sm/index.mjs': pairPlugin('sm_endpoint') },
      { requestType: 'nope' },
      { env: { EXTENSION_FALLBACK_ENABLED: 'true' } },
    );
    expect(e.status).toBe('fallback');
    expect(e.error?.code).toBe('UNKNOWN_REQUEST_TYPE');
    expect(e.selection).toEqual({
      requestType: 'http',
      fallback: true,
      region: { name: 'http-region', source: 'builtin' },
      image: { name: 'http-image', source: 'builtin' },
    });
  });

  it('is plain data: a JSON round trip keeps it whole', async () => {
    const e = await explainIn(
      { 'plugins/a/index.mjs': pairPlugin('dup', 'first'), 'plugins/b/index.mjs': pairPlugin('dup', 'second') },
      { requestType: 'dup' },
    );
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });
});
