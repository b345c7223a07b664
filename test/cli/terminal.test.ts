/**
 * On a terminal, a command's answer comes first: `list` does not bury its table under boot logs at
 * info (the repo's own config sets `logLevel: info`), while `start` keeps them. Run under a real
 * pseudo-terminal with util-linux's `script`.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir, writeTree } from '../helpers/index.js';

/** Run the CLI (in the repo, or `cwd`) under a pseudo-terminal; returns everything the terminal showed. */
function onTerminal(args: string, cwd = ROOT): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['-qec', `${process.execPath} ${BIN} ${args}`, '/dev/null'],
      { cwd, env: { ...process.env, LOG_LEVEL: '' } },
      (error, stdout) => (error === null ? resolve(stdout) : reject(error)),
    );
  });
}

describe('on a terminal', () => {
  it('list shows its table without the info boot logs; --log-level info brings them back', async () => {
    const quiet = await onTerminal('list');
    expect(quiet).toContain('http-region');
    expect(quiet).not.toContain('registered handler');
    expect(await onTerminal('list --log-level info')).toContain('registered handler');
  });

  it('start keeps its boot logs', async () => {
    expect(await onTerminal('start --request-type http')).toContain('registered handler');
  });
});

describe('terminal escapes from plugins', () => {
  it('are shown escaped, never sent raw: a thrown message cannot set the title or clear the screen', async () => {
    const dir = await writeTree(await tempDir(), {
      'plugins/t/index.mjs': "throw new Error('boom \\u001b]0;pwned\\u0007 and \\u001b[2J end');\n",
    });
    const shown = await onTerminal('list', dir);
    expect(shown).toContain('boom \\x1b]0;pwned\\x07 and \\x1b[2J end');
    expect(shown).not.toContain('\u001b]0;pwned');
    expect(shown).not.toContain('\u001b[2J');
  });
});
