/**
 * `list` and `check`: every registered handler and every refused plugin.
 */
import { formatList, formatListTable, listDocument, styleFor } from '../output.js';
import type { Command } from './command.js';

function listCommand(name: 'list' | 'check'): Command {
  return {
    name,
    summary:
      name === 'list'
        ? 'Show every registered handler and every refused plugin'
        : 'Like list; exit 1 if a plugin was refused or a request type is incomplete (for CI)',
    usage: `${name} [--json]`,
    examples:
      name === 'list'
        ? ['osml-extensions list', 'osml-extensions list --json --plugins ./plugins']
        : ['osml-extensions check --json'],
    options: {},
    optionHelp: {},
    async run(ctx) {
      const { ext } = await ctx.boot();
      const doc = listDocument(ext);
      if (ctx.values['json'] === true) ctx.stdout(`${JSON.stringify(doc)}\n`);
      else ctx.stdout(ctx.stdoutIsTTY ? formatListTable(doc, styleFor(true)) : formatList(doc));
      const refused = doc.rejected.length > 0;
      const incomplete = Object.values(doc.requestTypes).some((t) => !t.complete);
      return (ext.config.strict && refused) || (name === 'check' && (refused || incomplete)) ? 1 : 0;
    },
  };
}

/** `osml-extensions list`. */
export const list = listCommand('list');
/** `osml-extensions check`. */
export const check = listCommand('check');
