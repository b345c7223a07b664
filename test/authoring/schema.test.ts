/**
 * JSON Schema generated from the zod schemas: the committed config schema stays equal to the
 * generated one, it covers every config key, and `schema` prints it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.js';
import { handlerOptionsSchema } from '../../src/plugin/manifest.js';
import { jsonSchema } from '../../src/authoring/schema.js';
import { ROOT, runCli } from '../helpers/index.js';

const COMMITTED = path.join(ROOT, 'schema', 'osml-extensions.config.schema.json');
const pretty = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

interface ObjectSchema {
  $schema: string;
  type: string;
  properties: Record<string, { type?: string; pattern?: string; enum?: string[] }>;
  required?: string[];
  additionalProperties: boolean;
}

describe('jsonSchema("config")', () => {
  it('equals the committed schema/osml-extensions.config.schema.json', async () => {
    const committed = await readFile(COMMITTED, 'utf8');
    expect(committed, 'schema/osml-extensions.config.schema.json is stale: regenerate it with `npm run schema`').toBe(
      pretty(jsonSchema('config')),
    );
  });

  it('is a strict draft 2020-12 object schema with every config key, all optional', () => {
    const schema = jsonSchema('config') as unknown as ObjectSchema;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(configSchema.shape).sort());
    expect(schema.required ?? []).toEqual([]);
    expect(schema.properties['logLevel']?.enum).toContain('silent');
    expect(schema.properties['requestType']?.pattern).toBe('^[a-z][a-z0-9_]{0,63}$');
  });

  it('is what the shipped config points its editors at, and allows `$schema`', async () => {
    const config = JSON.parse(await readFile(path.join(ROOT, 'osml-extensions.config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config['$schema']).toBe('./schema/osml-extensions.config.schema.json');
    expect(path.resolve(ROOT, String(config['$schema']))).toBe(COMMITTED);
    expect((jsonSchema('config') as unknown as ObjectSchema).properties).toHaveProperty('$schema');
  });
});

describe('jsonSchema("manifest")', () => {
  it('covers every manifest field but `handler`, with the required ones required', () => {
    const schema = jsonSchema('manifest') as unknown as ObjectSchema;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(handlerOptionsSchema.shape).sort());
    expect(schema.properties).not.toHaveProperty('handler');
    expect(schema.required?.sort()).toEqual(['handlerType', 'name', 'requestType']);
    expect(schema.properties['handlerType']?.enum).toEqual(['REGION_REQUEST_HANDLER', 'IMAGE_REQUEST_HANDLER']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('says in its description that `handler` is not covered', () => {
    expect(String(jsonSchema('manifest')['description'])).toContain('`handler`');
  });
});

describe('osml-extensions schema (CLI)', () => {
  it.each([[[]], [['--json']]])(
    '`schema config` %j prints the generated schema, pretty, newline-terminated',
    async (extra) => {
      const result = await runCli(['schema', 'config', ...extra]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(pretty(jsonSchema('config')));
    },
  );

  it('`schema manifest` prints the manifest schema', async () => {
    const result = await runCli(['schema', 'manifest']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(jsonSchema('manifest'));
  });

  it('an unknown kind exits 2 with USAGE_INVALID and a did-you-mean', async () => {
    const result = await runCli(['schema', 'confg', '--json']);
    expect(result.code).toBe(2);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('USAGE_INVALID');
    expect(error.message).toContain('"config"');
  });

  it.each([[['schema']], [['schema', 'config', 'manifest']]])('%j exits 2 with USAGE_INVALID', async (args) => {
    const result = await runCli([...args, '--json']);
    expect(result.code).toBe(2);
    expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe('USAGE_INVALID');
  });
});
