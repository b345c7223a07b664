/**
 * `init <name> --request-type TYPE [--dir DIR]`: scaffold a plugin folder that passes `check`
 * and its own test as written.
 */
import path from 'node:path';
import { ExtensionError } from '../../shared/errors.js';
import { stringOption, type Command } from './command.js';

/** `osml-extensions init`. */
export const init: Command = {
  name: 'init',
  summary: 'Create a plugin folder: a TypeScript handler pair, a README and its own test',
  usage: 'init <name> --request-type TYPE [--dir DIR] [--json]',
  examples: [
    'osml-extensions init custom-processing --request-type custom_processing',
    'osml-extensions init edge --request-type edge_model --dir extensions',
  ],
  options: { 'request-type': { type: 'string' }, dir: { type: 'string' } },
  optionHelp: {
    'request-type': 'Request type the two handlers serve (required), e.g. custom_processing',
    dir: "Plugin root to create the folder in, relative to --cwd [default: the first root in force: --plugins, else the config's pluginDirs, else plugins]",
  },
  globals: ['config', 'plugins'],
  maxArgs: 1,
  async run(ctx) {
    const [name] = ctx.args;
    const requestType = stringOption(ctx.values, 'request-type');
    if (name === undefined)
      throw new ExtensionError('USAGE_INVALID', {
        problem:
          '`init` needs the plugin name, e.g. `osml-extensions init custom-processing --request-type custom_processing`',
      });
    if (requestType === undefined)
      throw new ExtensionError('USAGE_INVALID', {
        problem: '`init` needs `--request-type`, e.g. `--request-type custom_processing`',
      });

    const cwd = path.resolve(stringOption(ctx.values, 'cwd') ?? '.');
    // Write where the loader looks: --dir, else the first plugin root in force (flag, then config).
    const root = (await ctx.loadConfig()).pluginDirs[0];
    const fromConfig = root === undefined ? 'plugins' : path.relative(cwd, root).split(path.sep).join('/') || '.';
    const dir = stringOption(ctx.values, 'dir') ?? fromConfig;
    const { scaffoldPlugin } = await import('../../authoring/scaffold.js');
    const created = await scaffoldPlugin({ name, requestType, dir, cwd });
    if (ctx.values['json'] === true) {
      ctx.stdout(`${JSON.stringify({ created })}\n`);
      return 0;
    }
    const folder = path.posix.dirname(created[0] ?? name);
    const lines = [
      `Created plugin "${name}" for request type ${requestType}:`,
      ...created.map((file) => `  ${file}`),
      '',
      'Next steps:',
      `  1. Write your processing in ${folder}/index.ts (no build step: the host loads it as it is).`,
      `  2. npx osml-extensions check${dir === fromConfig ? '' : ` --plugins ${dir}`}    # it loads and both slots are filled`,
      `  3. npx vitest run ${folder}    # its own test`,
      `  4. npx osml-extensions resolve --request-type ${requestType}${dir === fromConfig ? '' : ` --plugins ${dir}`}`,
      '',
    ];
    ctx.stdout(lines.join('\n'));
    return 0;
  },
};
