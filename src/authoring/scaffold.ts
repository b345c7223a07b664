/**
 * `init`'s templates and the writing of a new plugin folder: a TypeScript entry with both
 * handlers, a README and the plugin's own test. Nothing is ever overwritten.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExtensionError } from '../shared/errors.js';
import { HANDLER_NAME_PATTERN, REQUEST_TYPE_PATTERN } from '../plugin/manifest.js';
import { toSource } from '../shared/paths.js';

/** What a new plugin is called and serves. */
export interface PluginTemplate {
  /** Folder name; the handlers are `<name>-region` and `<name>-image`. */
  name: string;
  /** The request type both handlers serve. */
  requestType: string;
}

/** Options for {@link scaffoldPlugin}. */
export interface ScaffoldOptions extends PluginTemplate {
  /** The plugin root to create the folder in, relative to `cwd`. @default 'plugins' */
  dir?: string;
  /** Base for `dir` and for the reported paths. @default process.cwd() */
  cwd?: string;
}

/** `custom-processing` → `CustomProcessing`; a leading digit gets a `Plugin` prefix. */
export function className(name: string): string {
  const pascal = name
    .split(/[^a-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return /^[0-9]/.test(pascal) ? `Plugin${pascal}` : pascal;
}

/** The entry: both handlers, declared with `@registerHandler`. */
export function indexTemplate({ name, requestType }: PluginTemplate): string {
  const cls = className(name);
  return `/**
 * The ${name} plugin: the handler pair for request type \`${requestType}\`.
 *
 * The host loads this TypeScript file as it is (no build step) and finds the two classes among
 * its exports by their \`@registerHandler\` decorators.
 */
import {
  HandlerType,
  ImageRequestHandler,
  RegionRequestHandler,
  registerHandler,
  type FeatureCollection,
  type TileRequest,
} from 'osml-extensions';

/** Processes one region: the base class cuts it into tiles and calls \`invokeModel\` for each. */
@registerHandler({
  requestType: '${requestType}',
  handlerType: HandlerType.REGION_REQUEST_HANDLER,
  name: '${name}-region',
  description: 'Region handler of the ${name} plugin.',
})
export class ${cls}RegionHandler extends RegionRequestHandler {
  /**
   * How one tile reaches the model; returns its detections in tile pixel coordinates. The default
   * hands the tile to \`deps.modelInvoker\` (an HTTP POST unless the host passes another).
   */
  protected override async invokeModel(tile: TileRequest): Promise<FeatureCollection> {
    return super.invokeModel(tile);
  }
}

/** Orchestrates a whole image: the base class splits it into regions for the region handler. */
@registerHandler({
  requestType: '${requestType}',
  handlerType: HandlerType.IMAGE_REQUEST_HANDLER,
  name: '${name}-image',
  description: 'Image handler of the ${name} plugin.',
})
export class ${cls}ImageHandler extends ImageRequestHandler {}
`;
}

/** The plugin's README. */
export function readmeTemplate({ name, requestType }: PluginTemplate): string {
  return `# ${name}

An osml-extensions plugin: the handler pair for request type \`${requestType}\`.

| handler | type |
| --- | --- |
| \`${name}-region\` | \`REGION_REQUEST_HANDLER\` |
| \`${name}-image\` | \`IMAGE_REQUEST_HANDLER\` |

- \`index.ts\` is the entry. The host loads it without a build step.
- \`${name}.test.ts\` is its own test, written with \`osml-extensions/testing\`.

\`\`\`sh
${commented([
  ['npx osml-extensions check', 'loads, and both slots are filled'],
  [`npx vitest run ${name}.test.ts`, 'its own test'],
  [`npx osml-extensions resolve --request-type ${requestType}`, 'the pair the host would pick'],
])}
\`\`\`

If the handlers need a service from the host (a client, a table), list its name in \`requires\` and
read it from \`this.deps\`; pass a fake to \`buildHandlers\` in the test.
`;
}

/** Shell lines with their `#` comments in one column. */
function commented(lines: [command: string, comment: string][]): string {
  const width = Math.max(...lines.map(([command]) => command.length)) + 3;
  return lines.map(([command, comment]) => `${command.padEnd(width)}# ${comment}`).join('\n');
}

/** The plugin's own test, written with `osml-extensions/testing`. */
export function testTemplate({ name, requestType }: PluginTemplate): string {
  return `/**
 * The ${name} plugin's own test: it loads as the host would load it, fills both slots of
 * \`${requestType}\`, and processes an image against a fake model.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildHandlers, expectCompletePair, fakeModelInvoker, loadPluginFolder } from 'osml-extensions/testing';

const folder = fileURLToPath(new URL('.', import.meta.url));
const requestType = '${requestType}';

describe('${name}', () => {
  it('loads without refusals and fills both slots', async () => {
    const plugin = await loadPluginFolder(folder);
    expect(plugin.rejected.map((r) => r.message)).toEqual([]);
    const { region, image } = expectCompletePair(plugin, requestType);
    expect([region.name, image.name]).toEqual(['${name}-region', '${name}-image']);
  });

  it('processes an image, tile by tile, through the model', async () => {
    const plugin = await loadPluginFolder(folder);
    // One detection at (8, 8) in every tile.
    const modelInvoker = fakeModelInvoker([{ type: 'Feature', geometry: { type: 'Point', coordinates: [8, 8] }, properties: { label: 'example' } }]);
    const { image } = await buildHandlers(plugin, requestType, { modelInvoker, tiling: { tileSize: 512, tileOverlap: 0 } });

    const result = await image.processImageRequest({ imageId: 'test-image', endpoint: 'http://model.test/invocations', width: 1024, height: 512 });

    expect(modelInvoker.calls.map((tile) => tile.bounds)).toEqual([
      { x: 0, y: 0, width: 512, height: 512 },
      { x: 512, y: 0, width: 512, height: 512 },
    ]);
    // Detections come back in image coordinates.
    expect(result.features.map((feature) => feature.geometry)).toEqual([
      { type: 'Point', coordinates: [8, 8] },
      { type: 'Point', coordinates: [520, 8] },
    ]);
  });
});
`;
}

const usage = (problem: string) => new ExtensionError('USAGE_INVALID', { problem });

/** Check the name and request type before anything is written; throws `USAGE_INVALID`. */
export function validateTemplate({ name, requestType }: PluginTemplate): void {
  // The handler names derive from the folder name, so they must fit the pattern too.
  if (!HANDLER_NAME_PATTERN.test(name) || !HANDLER_NAME_PATTERN.test(`${name}-region`) || name === 'node_modules') {
    throw usage(
      `The plugin name must be lower case letters, digits, "_", "." or "-", start with a letter or digit, be at most 121 characters and not be "node_modules" (e.g. "custom-processing"), received ${JSON.stringify(name)}`,
    );
  }
  if (!REQUEST_TYPE_PATTERN.test(requestType)) {
    throw usage(
      `\`--request-type\` must be lower snake case starting with a letter, at most 64 characters (e.g. "custom_processing"), received ${JSON.stringify(requestType)}`,
    );
  }
}

/**
 * Create `<dir>/<name>/` with `index.ts`, `README.md` and `<name>.test.ts`. Validates first
 * (`USAGE_INVALID`); refuses an existing folder (`TARGET_EXISTS`). Returns the files written,
 * relative to `cwd`.
 */
export async function scaffoldPlugin(options: ScaffoldOptions): Promise<string[]> {
  validateTemplate(options);
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const target = path.resolve(cwd, options.dir ?? 'plugins', options.name);
  await mkdir(path.dirname(target), { recursive: true });
  try {
    // Not recursive: creating the folder itself is the existence check, with no race.
    await mkdir(target);
  } catch (cause) {
    if ((cause as { code?: unknown }).code !== 'EEXIST') throw cause;
    const rel = toSource(cwd, target);
    throw new ExtensionError('TARGET_EXISTS', { target: rel.startsWith('../') ? target : rel }, { cause });
  }
  const files: [string, string][] = [
    ['index.ts', indexTemplate(options)],
    ['README.md', readmeTemplate(options)],
    [`${options.name}.test.ts`, testTemplate(options)],
  ];
  for (const [file, content] of files) await writeFile(path.join(target, file), content, { flag: 'wx' });
  return files.map(([file]) => toSource(cwd, path.join(target, file)));
}
