/**
 * On a terminal, a command's answer comes first: `list` does not bury its table under boot logs at
 * info (the repo's own config sets `logLevel: info`), while `start` keeps them. Run under a real
 * pseudo-terminal with util-linux's `script`.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../helpers/index.js';

/** Run the CLI in the repo under a pseudo-terminal; returns everything the terminal showed. */
function onTerminal(args: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['-qec', `${process.execPath} ${BIN} ${args}`, '/dev/null'],
      { cwd: ROOT, env: { ...process.env, LOG_LEVEL: '' } },
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
