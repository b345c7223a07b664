/**
 * A plugin's thrown value is never trusted as one of ours: an object carrying the package's error
 * brand with params of the wrong shape, or a getter that throws, is an ordinary import failure of
 * that plugin, and the boot goes on.
 */
import { describe, expect, it } from 'vitest';
import { loadExtensions } from '../../src/host/extensions.js';
import { isExtensionError } from '../../src/shared/errors.js';
import { pairPlugin, tempDir, writeTree } from '../helpers/index.js';

const forge = (params: string) =>
  `const e = new Error('forged');\ne[Symbol.for('osml-extensions.error')] = true;\ne.code = 'MANIFEST_INVALID';\n${params}\nthrow e;\n`;

describe('forged errors', () => {
  it('refuses each forging plugin with IMPORT_FAILED and loads the good one', async () => {
    const cwd = await writeTree(await tempDir(), {
      'plugins/getter/index.mjs': forge(
        "Object.defineProperty(e, 'params', { get() { throw new Error('gotcha'); } });",
      ),
      'plugins/shape/index.mjs': forge('e.params = { file: 42, problems: null };'),
      'plugins/problems/index.mjs': forge("e.params = { file: 'x.mjs', problems: ['looks fine', 42] };"),
      'plugins/code/index.mjs': forge("e.code = 'NOT_A_CODE'; e.params = {};"),
      'plugins/good/index.mjs': pairPlugin('good'),
    });
    const ext = await loadExtensions({ cwd, overrides: { cache: false } });
    expect(ext.rejected.map((r) => [r.source, r.code])).toEqual([
      ['plugins/code/index.mjs', 'IMPORT_FAILED'],
      ['plugins/getter/index.mjs', 'IMPORT_FAILED'],
      ['plugins/problems/index.mjs', 'IMPORT_FAILED'],
      ['plugins/shape/index.mjs', 'IMPORT_FAILED'],
    ]);
    expect(ext.registry.isComplete('good')).toBe(true);
  });

  it('isExtensionError is false for a branded object whose getters throw, or whose code is not in the table', () => {
    const brand = Symbol.for('osml-extensions.error');
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
        has: () => {
          throw new Error('trap');
        },
      },
    );
    expect(isExtensionError(hostile)).toBe(false);
    expect(isExtensionError({ [brand]: true, code: 'NOPE', message: 'm', params: {} })).toBe(false);
    expect(isExtensionError({ [brand]: true, code: 'MANIFEST_INVALID', message: 'm', params: null })).toBe(false);
    expect(
      isExtensionError({ [brand]: true, code: 'MANIFEST_INVALID', message: 'm', params: {} }, 'MANIFEST_INVALID'),
    ).toBe(true);
  });
});
