/**
 * Configs that explode: a YAML file whose aliases expand exponentially and a JavaScript config that
 * refers to itself end in CONFIG_INVALID, naming the file, instead of a hung or crashed boot.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, scanConfigValue } from '../src/config.js';
import { isExtensionError } from '../src/shared/errors.js';
import { tempDir, writeTree } from './helpers/index.js';

/** A YAML "billion laughs": each level refers to the previous one ten times. */
const aliasBomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
  .concat(
    Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(',')}]`,
    ),
  )
  .join('\n');

async function refusal(files: Record<string, string>): Promise<{ code: string; message: string }> {
  const cwd = await writeTree(await tempDir(), files);
  try {
    await loadConfig({ cwd });
  } catch (error) {
    if (isExtensionError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('configs that explode', () => {
  it('a YAML alias bomb is CONFIG_INVALID, naming the file', async () => {
    const { code, message } = await refusal({ '.osml-extensionsrc.yaml': `${aliasBomb}\n` });
    expect(code).toBe('CONFIG_INVALID');
    expect(message).toContain('.osml-extensionsrc.yaml');
    expect(message).toContain('more than 10000 values');
  }, 10_000);

  it('a JavaScript config that contains itself is CONFIG_INVALID', async () => {
    const { code, message } = await refusal({
      'osml-extensions.config.mjs':
        "const config = { pluginDirs: ['plugins'] };\nconfig.more = { again: config };\nexport default config;\n",
    });
    expect(code).toBe('CONFIG_INVALID');
    expect(message).toContain('cyclic');
  });

  it('scanConfigValue: shared (non-cyclic) values are fine, poisoning keys are not', () => {
    const shared = { a: 1 };
    expect(scanConfigValue({ x: shared, y: shared })).toBeUndefined();
    expect(scanConfigValue(JSON.parse('{"a": {"__proto__": {"polluted": true}}}'))).toContain('__proto__');
    expect(scanConfigValue({ constructor: { prototype: {} } })).toContain('constructor.prototype');
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 5000; i++) at = (at['n'] = {}) as Record<string, unknown>;
    expect(scanConfigValue(deep)).toBeUndefined();
  });
});

describe('config errors name files relative to the working directory', () => {
  it('a YAML syntax error quotes the file by its relative name, never its absolute path', async () => {
    const cwd = await writeTree(await tempDir(), { '.osml-extensionsrc.yaml': 'pluginDirs: [a\n  b: ]]\n' });
    const error = await loadConfig({ cwd }).catch((e: unknown) => e);
    expect(isExtensionError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('YAML Error in .osml-extensionsrc.yaml');
    expect((error as Error).message).not.toContain(cwd);
  });
});
