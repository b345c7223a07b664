/**
 * loadPlugin, read closely: which export offered which manifest (named in every refusal), how a
 * CommonJS module is unpacked, what an import failure says (one line, the missing package to
 * install, no made-up location), and what a load leaves behind (no timer, an honest importMs).
 */
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { loadPlugin, loadPlugins } from '../../src/boot/load.js';
import { pairPlugin } from '../helpers/index.js';
import { loadOnePlugin, pluginCandidates } from '../helpers/load.js';

const REGION = `class R { processRegionRequest() {} }`;
const manifestOf = (name: string, type = 't') =>
  `{ requestType: '${type}', handlerType: 'REGION_REQUEST_HANDLER', name: '${name}', handler: R }`;

/** The one refusal of a plugin entry `index.mjs` (or another file name) holding `body`. */
async function refusalOf(body: string, file = 'index.mjs') {
  const loaded = await loadOnePlugin({ [`plugins/p/${file}`]: body });
  expect(loaded.rejected).toHaveLength(1);
  return loaded.rejected[0]!;
}

describe('which export offered what: named in each refusal', () => {
  it.each([
    ['export default null;', '(default export)'],
    ['export default { name: "not-a-manifest" };', '(default export)'],
    ['export const manifest = 42;', '(export "manifest")'],
    ['export const manifests = [42];', '(export "manifests"[0])'],
  ])('%s: MANIFEST_INVALID for %s', async (body, label) => {
    const refusal = await refusalOf(body);
    expect(refusal.code).toBe('MANIFEST_INVALID');
    expect(refusal.message).toContain(`plugins/p/index.mjs ${label}:`);
    expect(refusal.message).not.toContain('reading the exports threw');
  });

  it('a `manifests` export that is not an array says so, whatever it holds', async () => {
    const refusal = await refusalOf(`${REGION}\nexport const manifests = ${manifestOf('single')};`);
    expect(refusal.code).toBe('MANIFEST_INVALID');
    expect(refusal.message).toContain(
      'plugins/p/index.mjs (export "manifests"): manifests: must be an array of manifests.',
    );
  });

  const forged = (name: string) => `const ${name} = class { processRegionRequest() {} };
Object.defineProperty(${name}, Symbol.for('osml-extensions.manifest'), {
  value: { requestType: 'Bad Type', handlerType: 'REGION_REQUEST_HANDLER', name: 'x' },
});`;
  it.each([
    [`${forged('Named')}\nexport { Named };`, 'class Named'],
    [`${forged('D')}\nexport default D;`, 'class default export'],
  ])('a class carrying a forged manifest is refused, named: %#', async (body, label) => {
    const refusal = await refusalOf(body);
    expect(refusal.code).toBe('MANIFEST_INVALID');
    expect(refusal.message).toContain(`plugins/p/index.mjs (${label}):`);
  });

  it('a default export that is itself a manifest is never unpacked, even with a `manifests` key', async () => {
    const refusal = await refusalOf(`${REGION}\nexport default { ...${manifestOf('d-region', 'dd')}, manifests: [] };`);
    expect(refusal).toMatchObject({ code: 'MANIFEST_INVALID', requestTypes: ['dd'] });
    expect(refusal.message).toContain('(default export)');
  });

  it('records the request type a refused value declared, only when it is a string, even on a class', async () => {
    expect((await refusalOf('export default class X { static requestType = "cls_type"; }')).requestTypes).toEqual([
      'cls_type',
    ]);
    expect((await refusalOf(`${REGION}\nexport default { requestType: 42 };`)).requestTypes).toEqual([]);
    const throwing = await refusalOf('export default { get requestType() { throw new Error("no"); } };');
    expect(throwing).toMatchObject({ code: 'MANIFEST_INVALID', requestTypes: [] });
  });
});

describe('CommonJS entries', () => {
  it('unpacks `module.exports = { manifest }`', async () => {
    const loaded = await loadOnePlugin({
      'plugins/p/index.cjs': `${REGION}\nmodule.exports = { manifest: ${manifestOf('c-region')} };`,
    });
    expect(loaded.rejected).toEqual([]);
    expect(loaded.manifests.map((m) => m.name)).toEqual(['c-region']);
  });

  it('an export getter that throws refuses that plugin: MANIFEST_INVALID, the throw as cause', async () => {
    const refusal = await refusalOf('module.exports = { get manifest() { throw new Error("boom"); } };', 'index.cjs');
    expect(refusal.code).toBe('MANIFEST_INVALID');
    expect(refusal.message).toContain('(exports): reading the exports threw (Error: boom)');
    expect((refusal.error.cause as Error).message).toBe('boom');
  });
});

describe('what an import failure says', () => {
  it.each([
    ['a bare package', "import 'nope-pad-xyz/sub/deep.js';", 'nope-pad-xyz'],
    ['a scoped package', "import '@nope-xyz/pad/sub';", '@nope-xyz/pad'],
    ['a package required by CommonJS', "require('nope-cjs-xyz/sub');", 'nope-cjs-xyz'],
  ])('%s: install it, by its package name', async (_label, body, name) => {
    const refusal = await refusalOf(body, body.startsWith('require') ? 'index.cjs' : 'index.mjs');
    expect(refusal.code).toBe('IMPORT_FAILED');
    expect(refusal.message).toContain(`Install the package it imports (\`npm install ${name}\` in the project)`);
  });

  it('a plugin that throws "Cannot find module" itself is not told to install anything', async () => {
    const refusal = await refusalOf(`throw new Error("Cannot find module 'left-pad'");`);
    expect(refusal.message).toContain('Fix that file');
    expect(refusal.message).not.toContain('npm install');
  });

  it('a message over several lines becomes one, its breaks and their indentation one space each', async () => {
    const refusal = await refusalOf('throw new Error("first  \\n   second\\nthird\\n");');
    expect(refusal.message).toContain('failed: Error: first second third. Fix that file');
    expect(refusal.message).not.toContain('(at ');
  });

  it('a syntax error past line 9 of an .mjs entry: its file and line', async () => {
    const refusal = await refusalOf(`${'\n'.repeat(11)}export const x = ;\n`);
    expect(refusal.message).toContain('(at plugins/p/index.mjs:12)');
  });

  it('a TypeScript syntax error: the line jiti gives, and no `node --check` location added', async () => {
    const refusal = await refusalOf('const x: number = 1;\nexport default {\n  a: 1\n  b: 2\n};\n', 'index.ts');
    expect(refusal.message).toContain('plugins/p/index.ts:4');
    expect(refusal.message).not.toContain('(at ');
  });

  it('a SyntaxError a TypeScript entry throws itself (JSON.parse): no `node --check` location either', async () => {
    const refusal = await refusalOf("JSON.parse('{');\nexport default [];\n", 'index.ts');
    expect(refusal.message).toContain('SyntaxError');
    expect(refusal.message).not.toContain('(at ');
  });

  it('an entry deleted after discovery is VANISHED, a warning, with the import error as cause', async () => {
    const [candidate] = await pluginCandidates({ 'plugins/p/index.mjs': pairPlugin('p') });
    await rm(candidate!.entry);
    const { rejected } = await loadPlugin(candidate!);
    expect(rejected).toMatchObject([{ code: 'VANISHED', level: 'warn', source: 'plugins/p/index.mjs' }]);
    expect(rejected[0]?.error.cause).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  });
});

describe('timeouts', () => {
  it('an entry that timed out is refused at once in the same generation, never awaited again', async () => {
    const [candidate] = await pluginCandidates({ 'plugins/p/index.mjs': 'await new Promise(() => {});' });
    const first = await loadPlugin(candidate!, { timeoutMs: 50, reload: 'stuck' });
    expect(first.rejected[0]?.code).toBe('IMPORT_TIMEOUT');
    // Awaited again, this would outlast the test's own timeout.
    const again = await loadPlugin(candidate!, { timeoutMs: 600_000, reload: 'stuck' });
    expect(again.rejected[0]?.code).toBe('IMPORT_TIMEOUT');
    expect(again.rejected[0]?.message).toContain('(its top level never settled)');
  });

  it('a finished import leaves no timer behind (a CLI would wait for it before exiting)', async () => {
    const [candidate] = await pluginCandidates({ 'plugins/p/index.mjs': pairPlugin('p') });
    // Only this load's own timer is followed: other tests' timers come and go meanwhile.
    const set = vi.spyOn(globalThis, 'setTimeout');
    const clear = vi.spyOn(globalThis, 'clearTimeout');
    try {
      expect((await loadPlugin(candidate!, { timeoutMs: 600_000 })).rejected).toEqual([]);
      const mine = set.mock.calls.flatMap(([, ms], i) => (ms === 600_000 ? [set.mock.results[i]?.value] : []));
      expect(mine).toHaveLength(1);
      expect(clear.mock.calls.map(([timer]) => timer)).toContain(mine[0]);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });

  it('importMs is the time the import took, within the time the call took, refused or not', async () => {
    const [good, bad] = await pluginCandidates({
      'plugins/a/index.mjs': pairPlugin('a'),
      'plugins/b/index.mjs': 'throw new Error("no");',
    });
    for (const candidate of [good!, bad!]) {
      const started = performance.now();
      const { importMs } = await loadPlugin(candidate);
      expect(importMs).toBeGreaterThanOrEqual(0);
      expect(importMs).toBeLessThanOrEqual(performance.now() - started);
    }
  });
});

describe('loadPlugins: the same real file', () => {
  it('two entries that cannot be resolved are both kept (and reported), not taken for one', async () => {
    const candidates = await pluginCandidates({ 'plugins/a/index.mjs': '', 'plugins/b/index.mjs': '' });
    for (const candidate of candidates) await rm(candidate.entry);
    const loaded = await loadPlugins(candidates);
    expect(loaded.map((l) => [l.candidate.name, l.rejected[0]?.code])).toEqual([
      ['a', 'VANISHED'],
      ['b', 'VANISHED'],
    ]);
  });

  it('unique: true trusts the caller, who already dropped duplicates', async () => {
    const [candidate] = await pluginCandidates({ 'plugins/a/index.mjs': pairPlugin('a') });
    const loaded = await loadPlugins([candidate!, candidate!], { unique: true });
    expect(loaded).toHaveLength(2);
    expect(await loadPlugins([candidate!, candidate!])).toHaveLength(1);
  });
});
