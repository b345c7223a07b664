/**
 * `lock`: pin every plugin folder's content in osml-extensions.lock.json. Runs no plugin code.
 */
import { toSource } from '../../shared/paths.js';
import type { Command } from './command.js';

/** `1 file`, `2 files`. */
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** `osml-extensions lock`. */
export const lock: Command = {
  name: 'lock',
  summary: 'Pin every plugin folder (sha512 over its files) in osml-extensions.lock.json',
  usage: 'lock [--json]',
  examples: ['osml-extensions lock', 'osml-extensions check   # then refuses any plugin that drifted from its pin'],
  options: {},
  optionHelp: {},
  globals: ['config', 'plugins'],
  async run(ctx) {
    const config = await ctx.loadConfig();
    // Discovery imports nothing, so pinning never runs the code it pins.
    const [{ discover }, { writeLock }] = await Promise.all([
      import('../../boot/discover.js'),
      import('../../boot/lock.js'),
    ]);
    const { plugins } = await discover({
      roots: config.pluginDirs,
      cwd: config.cwd,
      rootsNamed: config.pluginDirsNamed,
    });
    const pins = await writeLock(config, plugins);
    const lockFile = toSource(config.cwd, config.lockFile);
    if (ctx.values['json'] === true) {
      ctx.stdout(
        `${JSON.stringify({ lockFile, plugins: pins.map((p) => ({ folder: p.folder, integrity: p.integrity })) })}\n`,
      );
    } else {
      ctx.stdout(
        `${pins.map((p) => `pinned ${p.folder}  ${p.integrity.slice(0, 19)}…  (${count(p.files.length, 'file')})`).join('\n')}${pins.length > 0 ? '\n' : ''}wrote ${lockFile} (${count(pins.length, 'plugin')})\n`,
      );
    }
    return 0;
  },
};
