/**
 * Start-up cost: `--version` and `--help` (and a usage error) import no dependency at all; each
 * command loads its own modules only when it runs. Checked by recording every module the process
 * resolves, through a module hook registered before the CLI starts.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir } from '../helpers/index.js';

/** The hook: appends each resolved URL to the file named by OSML_TRACE_IMPORTS. */
const HOOK = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.OSML_TRACE_IMPORTS, result.url + '\\n');
  return result;
}`;
const REGISTER = `import { register } from 'node:module';\nregister('data:text/javascript,' + ${JSON.stringify(encodeURIComponent(HOOK))});\n`;

/** The package names a CLI call imported from node_modules. */
async function dependenciesOf(args: string[]): Promise<string[]> {
  const dir = await tempDir();
  const trace = path.join(dir, 'imports.txt');
  const register = path.join(dir, 'register.mjs');
  await writeFile(register, REGISTER);
  await new Promise<void>((resolve) => {
    execFile(
      process.execPath,
      ['--import', register, BIN, ...args],
      { env: { ...process.env, OSML_TRACE_IMPORTS: trace } },
      () => resolve(),
    );
  });
  const urls = (await readFile(trace, 'utf8')).split('\n');
  const names = urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []);
  return [...new Set(names)].sort();
}

describe('start-up imports', () => {
  it.each([['--version'], ['--help'], ['list', '--help'], ['run', '--help'], ['lsit']])(
    '%s imports no dependency',
    async (...args) => {
      expect(await dependenciesOf(args)).toEqual([]);
    },
  );

  it('records what it should: a command that boots imports its dependencies', async () => {
    expect(await dependenciesOf(['list', '--cwd', await tempDir(), '--log-level', 'silent'])).toContain('zod');
  });
});
