/**
 * JSON Schema for editors and other tools, generated from the zod schemas (the single source of
 * truth) with zod's own `z.toJSONSchema`. Nothing is written by hand.
 */
import { z } from 'zod';
import { configSchema } from '../config.js';
import { handlerOptionsSchema } from '../plugin/manifest.js';

/** The schemas {@link jsonSchema} can generate. */
import type { SchemaKind } from './schema-kinds.js';

export { SCHEMA_KINDS, type SchemaKind } from './schema-kinds.js';

const ABOUT: Record<SchemaKind, { schema: z.ZodType; title: string; description: string }> = {
  config: {
    schema: configSchema,
    title: 'osml-extensions config file',
    description:
      'osml-extensions.config.json, .osml-extensionsrc* or the "osml-extensions" key of package.json. Unknown keys are refused (CONFIG_INVALID).',
  },
  manifest: {
    schema: handlerOptionsSchema,
    title: 'osml-extensions handler manifest (without `handler`)',
    description:
      'A handler manifest, i.e. what registerHandler() takes. The required `handler` field is a class, which JSON Schema cannot express: it is not part of this schema. Unknown keys are refused (MANIFEST_INVALID).',
  },
};

/**
 * The JSON Schema (draft 2020-12) of the config file or of a handler manifest.
 * The manifest schema covers every field but `handler` (a class cannot be described in JSON).
 *
 * @example
 * ```ts
 * import { jsonSchema } from 'osml-extensions';
 * await writeFile('config.schema.json', `${JSON.stringify(jsonSchema('config'), null, 2)}\n`);
 * ```
 */
export function jsonSchema(kind: SchemaKind): Record<string, unknown> {
  const { schema, title, description } = ABOUT[kind];
  // `io: 'input'`: describe what a person writes, before any defaults or transforms.
  const { $schema, ...rest } = z.toJSONSchema(schema, { io: 'input' });
  return { $schema, title, description, ...rest };
}
