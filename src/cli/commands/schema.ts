/**
 * `schema config|manifest`: print a JSON Schema generated from the zod schemas.
 */
import { ExtensionError } from '../../shared/errors.js';
import { SCHEMA_KINDS, type SchemaKind } from '../../authoring/schema-kinds.js';
import { closest } from '../../shared/suggest.js';
import type { Command } from './command.js';

/** `osml-extensions schema`. */
export const schema: Command = {
  name: 'schema',
  summary: 'Print the JSON Schema of the config file or of a manifest (all but `handler`)',
  usage: `schema <${SCHEMA_KINDS.join('|')}>`,
  examples: [
    'osml-extensions schema config > schema/osml-extensions.config.schema.json',
    'osml-extensions schema manifest',
  ],
  options: {},
  optionHelp: {},
  globals: [],
  maxArgs: 1,
  async run(ctx) {
    const [kind] = ctx.args;
    if (kind === undefined) {
      throw new ExtensionError('USAGE_INVALID', { problem: `\`schema\` needs a kind: ${SCHEMA_KINDS.join(' or ')}` });
    }
    if (!(SCHEMA_KINDS as readonly string[]).includes(kind)) {
      const hint = closest(kind, SCHEMA_KINDS);
      throw new ExtensionError('USAGE_INVALID', {
        problem: `Unknown schema kind "${kind}" (expected ${SCHEMA_KINDS.join(' or ')}${hint === undefined ? '' : `; did you mean "${hint}"?`})`,
      });
    }
    // Always one pretty-printed JSON document, with or without --json: it is meant for a file.
    const { jsonSchema } = await import('../../authoring/schema.js');
    ctx.stdout(`${JSON.stringify(jsonSchema(kind as SchemaKind), null, 2)}\n`);
    return 0;
  },
};
