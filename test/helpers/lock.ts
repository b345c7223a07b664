/** Pinning a test project, as `osml-extensions lock` does, without the CLI. */
import { discover } from '../../src/boot/discover.js';
import { writeLock } from '../../src/boot/lock.js';
import { loadConfig } from '../../src/config.js';

/** Pin every plugin of the project in `dir` (its config's plugin roots) into its lock file. */
export async function lockProject(dir: string): Promise<void> {
  const config = await loadConfig({ cwd: dir, env: {} });
  const { plugins } = await discover({ roots: config.pluginDirs, cwd: dir });
  await writeLock(config, plugins);
}
