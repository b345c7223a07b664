/**
 * The optional worker probe (config `probe: true`): each new or changed plugin is first imported
 * in a worker thread under the import timeout. A synchronous infinite loop cannot be interrupted
 * in-process, but a worker can be terminated, so such a plugin is refused with IMPORT_TIMEOUT
 * before it ever reaches the host.
 *
 * Cost: one worker per probed plugin (tens of milliseconds each, run in parallel), and the
 * plugin's top-level code runs twice (in the probe, then in the host). Cached plugins are not probed.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { mapBounded } from '../shared/concurrency.js';
import type { PluginCandidate } from './discover.js';
import { TYPESCRIPT_EXTENSIONS } from './load.js';
import { markStuck } from './stuck.js';

// CommonJS so it can run with `eval: true`; it only reports whether the import settled.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const load = workerData.jiti
  ? import(workerData.jiti).then(({ createJiti }) => createJiti(workerData.url).import(workerData.path))
  : import(workerData.url);
load.then(() => parentPort.postMessage('settled'), () => parentPort.postMessage('settled'));
`;

/** Probe one entry; resolves to true when its import settled within the timeout. */
function probeOne(candidate: PluginCandidate, timeoutMs: number): Promise<boolean> {
  const typescript = TYPESCRIPT_EXTENSIONS.some((ext) => candidate.entry.endsWith(ext));
  const workerData = {
    url: pathToFileURL(candidate.entry).href,
    path: candidate.entry,
    jiti: typescript ? import.meta.resolve('jiti') : undefined,
  };
  return new Promise((resolve) => {
    const worker = new Worker(WORKER, { eval: true, workerData, stdout: true, stderr: true });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve(false);
    }, timeoutMs);
    const done = (settled: boolean) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(settled);
    };
    worker.once('message', () => done(true));
    // A crash of the worker is not a hang: the host import will report the real error.
    worker.once('error', () => done(true));
    worker.once('exit', () => done(true));
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
    markStuck(candidate.entry, 'it did not finish in the worker probe: a synchronous loop or a hang', reload);
    hung.add(candidate.entry);
  });
  return hung;
}
