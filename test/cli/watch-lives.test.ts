/**
 * `start --watch` lives until a signal, whatever its watchers do: after the reload limit, without a
 * plugin root to watch, and with extensions off. Each case runs the real CLI and sends no signal
 * for 5 s before checking the process is still alive; then SIGTERM ends it with exit 0.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BIN, pairPlugin, tempDir, writeTree } from '../helpers/index.js';

/** Start `start --watch` in `cwd`; resolves once it logged `ready`. */
async function startWatching(cwd: string, args: string[] = [], env: Record<string, string> = {}) {
  const clean: Record<string, string | undefined> = {
    ...process.env,
    REQUEST_TYPE: undefined,
    USE_EXTENSIONS: undefined,
    LOG_LEVEL: undefined,
    ...env,
  };
  for (const key of Object.keys(clean)) if (clean[key] === undefined) delete clean[key];
  const child = spawn(process.execPath, [BIN, 'start', '--watch', '--cwd', cwd, ...args], {
    env: clean as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  child.stdout.resume();
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve((exitCode = code))));
  for (let waited = 0; !stderr.includes('"event":"ready"'); waited += 50) {
    if (waited > 15_000 || exitCode !== undefined)
      throw new Error(`no ready line (exit ${exitCode}); stderr:\n${stderr}`);
    await sleep(50);
  }
  return { child, exited, alive: () => exitCode === undefined, stderr: () => stderr };
}

describe('start --watch stays alive until a signal', () => {
  it('after the reload limit, with no plugin root, and with USE_EXTENSIONS=false', async () => {
    const limited = await tempDir();
    await writeTree(limited, { 'plugins/a/index.mjs': pairPlugin('a') });
    const noRoot = await tempDir();
    const off = await tempDir();

    const runs = await Promise.all([
      startWatching(limited, ['--max-reloads', '1']),
      startWatching(noRoot),
      startWatching(off, [], { USE_EXTENSIONS: 'false' }),
    ]);
    // Use up the one reload: add a folder, then remove it.
    await writeTree(limited, { 'plugins/b/index.mjs': pairPlugin('b') });
    await sleep(1000);
    await rm(`${limited}/plugins/b`, { recursive: true });

    await sleep(5000);
    expect(runs.map((r) => r.alive())).toEqual([true, true, true]);
    expect(runs[0]!.stderr()).toContain('RELOAD_LIMIT');

    for (const run of runs) run.child.kill('SIGTERM');
    expect(await Promise.all(runs.map((r) => r.exited))).toEqual([0, 0, 0]);
  }, 30_000);
});
