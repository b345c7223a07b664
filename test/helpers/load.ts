/** Loading one plugin written on the spot: discovery of a temp project's `plugins/`, then loadPlugin. */
import path from 'node:path';
import { discover, type PluginCandidate } from '../../src/boot/discover.js';
import { loadPlugin, type LoadOptions } from '../../src/boot/load.js';
import { tempDir, writeTree } from './index.js';

/** The plugin candidates of a new temp project holding `files`, from its `plugins` root. */
export async function pluginCandidates(files: Record<string, string>): Promise<PluginCandidate[]> {
  const dir = await writeTree(await tempDir(), files);
  return (await discover({ roots: [path.join(dir, 'plugins')], cwd: dir })).plugins;
}

/** Load the first plugin of a new temp project holding `files`. */
export async function loadOnePlugin(files: Record<string, string>, options: LoadOptions = {}) {
  const [candidate] = await pluginCandidates(files);
  return loadPlugin(candidate!, options);
}
