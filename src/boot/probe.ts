/**
 * The optional probe (config `probe: true`): each new or changed plugin is first imported in a
 * child process under the import timeout. A synchronous infinite loop, or a read blocked on a FIFO,
 * cannot be interrupted in-process, and a worker thread blocked in native code cannot be stopped
 * either (the host would hang at exit waiting for it); a child process is killed, so such a plugin
 * is refused with IMPORT_TIMEOUT before it ever reaches the host, and the host exits normally.
 *
 * Cost: one short-lived process per probed plugin (tens of milliseconds each, as many at once as
 * there are cores), and the plugin's top-level code runs twice (in the probe, then in the host).
 * Cached plugins are not probed.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { mapBounded } from '../shared/concurrency.js';
import type { PluginCandidate } from './discover.js';
import { TYPESCRIPT_EXTENSIONS } from './load.js';
import { markStuck } from './stuck.js';

// It only reports whether the import settled (resolved or threw), by exiting.
const CHILD = `
const [url, file, jiti] = process.argv.slice(1);
const load = jiti ? import(jiti).then(({ createJiti }) => createJiti(url).import(file)) : import(url);
load.then(() => process.exit(0), () => process.exit(0));
`;

/** Probe one entry; resolves to true when its import settled within the timeout. */
function probeOne(candidate: PluginCandidate, timeoutMs: number): Promise<boolean> {
  const typescript = TYPESCRIPT_EXTENSIONS.some((ext) => candidate.entry.endsWith(ext));
  const args = [pathToFileURL(candidate.entry).href, candidate.entry, typescript ? import.meta.resolve('jiti') : ''];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(false);
    }, timeoutMs);
    const done = (settled: boolean) => {
      clearTimeout(timer);
      resolve(settled);
    };
    // A crash is not a hang: the host import will report the real error.
    child.once('exit', (code, signal) => done(signal !== 'SIGKILL' || code !== null));
    child.once('error', () => done(true));
  });
}

/**
 * Probe the candidates (as many at once as there are cores). Returns the entries that hung; they
 * are marked so the host refuses them with IMPORT_TIMEOUT and never imports them.
 */
export async function probePlugins(
  candidates: readonly PluginCandidate[],
  timeoutMs: number,
  reload?: string,
): Promise<Set<string>> {
  const hung = new Set<string>();
  await mapBounded(candidates, availableParallelism(), async (candidate) => {
    if (await probeOne(candidate, timeoutMs)) return;
    markStuck(candidate.entry, 'it did not finish in the probe: a synchronous loop, a blocked read or a hang', reload);
    hung.add(candidate.entry);
  });
  return hung;
}
