/**
 * Each command's help lists only the options it takes, and a mistyped option gets a did-you-mean,
 * as a mistyped command already does.
 */
import { describe, expect, it } from 'vitest';
import { readmeTemplate } from '../../src/authoring/scaffold.js';
import { main } from '../../src/cli/main.js';
import { pairPlugin, tempDir, writeTree } from '../helpers/index.js';

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(args, { stdout: (text) => void (out += text), stdoutIsTTY: false });
  return { code, out };
}

describe('per-command options', () => {
  it('init --help shows neither --strict nor --no-cache; schema --help does not show --plugins', async () => {
    const init = (await cli(['init', '--help'])).out;
    expect(init).toContain('--request-type');
    expect(init).not.toContain('--strict');
    expect(init).not.toContain('--no-cache');
    const schema = (await cli(['schema', '--help'])).out;
    expect(schema).not.toContain('--plugins');
    expect(schema).toContain('--json');
    expect((await cli(['list', '--help'])).out).toContain('--strict');
  });

  it('refuses an option the command does not take, with exit 2', async () => {
    const { code, out } = await cli(['schema', 'config', '--plugins', 'x', '--json']);
    expect(code).toBe(2);
    expect(JSON.parse(out)).toMatchObject({ error: { code: 'USAGE_INVALID' } });
  });

  it.each([
    ['list', '--jsno', '--json'],
    ['run', '--tile-sise', '--tile-size'],
    ['init', '--requst-type', '--request-type'],
  ])('%s %s: did you mean %s?', async (command, typo, meant) => {
    const { code, out } = await cli([command, typo, '1', '--json']);
    expect(code).toBe(2);
    expect((JSON.parse(out) as { error: { message: string } }).error.message).toContain(`did you mean "${meant}"?`);
  });
});

describe('lock wording', () => {
  it('says "1 file" and "1 plugin", not "1 files"', async () => {
    const dir = await writeTree(await tempDir(), { 'plugins/one/index.mjs': pairPlugin('one') });
    const { out } = await cli(['lock', '--cwd', dir, '--log-level', 'silent']);
    expect(out).toContain('(1 file)');
    expect(out).toContain('(1 plugin)');
  });
});

describe('the generated plugin README', () => {
  it('aligns the # comments of its commands in one column', () => {
    const text = readmeTemplate({ name: 'custom-processing', requestType: 'custom_processing' });
    const commands = text.split('```sh\n')[1]!.split('```')[0]!.trimEnd().split('\n');
    expect(commands).toHaveLength(3);
    expect(new Set(commands.map((line) => line.indexOf('#'))).size).toBe(1);
  });
});
