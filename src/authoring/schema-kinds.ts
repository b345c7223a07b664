/**
 * The kinds of JSON Schema `osml-extensions schema` prints; apart from schema.ts so that the CLI
 * can list them (usage, did-you-mean) without loading zod.
 */

/** `config` (the config file) or `manifest` (a handler manifest). */
export const SCHEMA_KINDS = ['config', 'manifest'] as const;
/** One of {@link SCHEMA_KINDS}. */
export type SchemaKind = (typeof SCHEMA_KINDS)[number];
