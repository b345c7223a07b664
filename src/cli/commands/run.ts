/**
 * `osml-extensions run IMAGE`: process one image through the selected pair and write GeoJSON.
 * Exit 0 only on SUCCESS; a run that cannot start prints the usual error document and exits 1.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { assertStrict } from '../../host/strict.js';
import type { RunOptions } from '../../runner/request.js';
import { ExtensionError } from '../../shared/errors.js';
import { stringOption, type Command, type CommandContext } from './command.js';
import { createProgress } from '../progress.js';

const options = {
  'request-type': { type: 'string' },
  endpoint: { type: 'string' },
  request: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'tile-size': { type: 'string' },
  'tile-overlap': { type: 'string' },
  'region-size': { type: 'string' },
  'tile-format': { type: 'string' },
  'tile-compression': { type: 'string' },
  roi: { type: 'string' },
  'post-processing': { type: 'string' },
  iou: { type: 'string' },
  concurrency: { type: 'string' },
  'feature-property': { type: 'string', multiple: true },
  'no-progress': { type: 'boolean' },
  'async-input': { type: 'string' },
} as const;

const optionHelp: Record<keyof typeof options, string> = {
  'request-type': 'Request type to use (beats REQUEST_TYPE and the config) [default: from the endpoint]',
  endpoint: 'The model: a URL (http) or a SageMaker endpoint name',
  request: 'An OSML ImageRequest JSON file (flags beat its fields)',
  out: 'Where to write the FeatureCollection; - for stdout [default: <image name>.geojson]',
  'tile-size': 'Tile edge in pixels [default: 1024]',
  'tile-overlap': 'Minimum overlap of neighbouring tiles in pixels [default: 50]',
  'region-size': 'Region edge in pixels [default: 10240]',
  'tile-format': 'PNG|JPEG|GTIFF [default: PNG]',
  'tile-compression': 'NONE|JPEG|LZW|DEFLATE (GTIFF tiles) [default: NONE]',
  roi: 'Region of interest as WKT in lon/lat (pixels for an image without georeferencing)',
  'post-processing': 'NMS|SOFT_NMS|NONE [default: NMS]',
  iou: 'IoU threshold of NMS [default: 0.75]',
  concurrency: 'Tiles in flight at once [default: 8]',
  'feature-property': 'k=v added to every feature; repeat for several',
  'no-progress': 'No progress bar on a terminal',
  'async-input': 'async_sm_endpoint: where tiles are put, s3://bucket/prefix/ [default: config asyncInputLocation]',
};

/** A whole-number flag, or undefined; anything else is a usage error naming the flag. */
function integer(ctx: CommandContext, name: string): number | undefined {
  const text = stringOption(ctx.values, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()))
    throw new ExtensionError('USAGE_INVALID', { problem: `\`--${name}\` must be a whole number, received "${text}"` });
  return Number(text);
}

/** `--feature-property k=v` (repeatable); values that parse as JSON numbers or booleans keep their type. */
function featureProperties(ctx: CommandContext): Record<string, unknown> | undefined {
  const pairs = ctx.values['feature-property'];
  if (!Array.isArray(pairs)) return undefined;
  const properties: Record<string, unknown> = {};
  for (const pair of pairs.map(String)) {
    const eq = pair.indexOf('=');
    if (eq < 1)
      throw new ExtensionError('USAGE_INVALID', {
        problem: `\`--feature-property\` must be key=value, received "${pair}"`,
      });
    const value = pair.slice(eq + 1);
    properties[pair.slice(0, eq)] = /^(-?\d+(\.\d+)?|true|false)$/.test(value) ? JSON.parse(value) : value;
  }
  return properties;
}

/** The run options from the flags; `--out` defaults to `<image name>.geojson` in the working directory. */
function runOptions(ctx: CommandContext, image: string | undefined, hasRequest: boolean): RunOptions {
  const iouText = stringOption(ctx.values, 'iou');
  const iou = iouText === undefined ? undefined : Number(iouText);
  if (iou !== undefined && !Number.isFinite(iou))
    throw new ExtensionError('USAGE_INVALID', {
      problem: `\`--iou\` must be a number from 0 to 1, received "${iouText}"`,
    });
  let out = stringOption(ctx.values, 'out');
  if (out === undefined && image !== undefined && !hasRequest)
    out = `${path.parse(new URL(image, 'file:///').pathname).name}.geojson`;
  return {
    endpoint: stringOption(ctx.values, 'endpoint'),
    out,
    tileSize: integer(ctx, 'tile-size'),
    tileOverlap: integer(ctx, 'tile-overlap'),
    regionSize: integer(ctx, 'region-size'),
    tileFormat: stringOption(ctx.values, 'tile-format'),
    tileCompression: stringOption(ctx.values, 'tile-compression'),
    roi: stringOption(ctx.values, 'roi'),
    postProcessing: stringOption(ctx.values, 'post-processing'),
    iou,
    featureProperties: featureProperties(ctx),
  };
}

/** `osml-extensions run`: the runner. */
export const run: Command = {
  name: 'run',
  summary:
    "Process an image: tiles to the selected pair's model, features geolocated, de-duplicated, written as GeoJSON",
  usage: 'run IMAGE --endpoint E [--out FILE|-] [--request FILE] [tiling, encoding, NMS options] [--json]',
  examples: [
    'osml-extensions run scene.tif --endpoint http://localhost:8080/invocations --out scene.geojson',
    'osml-extensions run --request image-request.json --out -',
    'REQUEST_TYPE=sm_endpoint osml-extensions run scene.tif --endpoint my-endpoint',
    'REQUEST_TYPE=async_sm_endpoint osml-extensions run s3://bucket/scene.tif --endpoint my-async-endpoint --async-input s3://bucket/tiles/',
  ],
  options,
  optionHelp,
  maxArgs: 1,
  async run(ctx) {
    const cwd = path.resolve(stringOption(ctx.values, 'cwd') ?? '.');
    // Relative paths (image, --out) stay as given (messages name the image as the user wrote it); cwd resolves them.
    const image = ctx.args[0];
    const requestFile = stringOption(ctx.values, 'request');
    let request: unknown;
    if (requestFile !== undefined) {
      const text = await readFile(path.resolve(cwd, requestFile), 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new ExtensionError('REQUEST_INVALID', {
          where: requestFile,
          problems: [`cannot read it (${error.code ?? error.message})`],
        });
      });
      try {
        request = JSON.parse(text);
      } catch (error) {
        throw new ExtensionError('REQUEST_INVALID', {
          where: requestFile,
          problems: [`not JSON: ${(error as Error).message}`],
        });
      }
    }
    if (image === undefined && request === undefined)
      throw new ExtensionError('USAGE_INVALID', { problem: '`run` needs an IMAGE or `--request FILE`' });
    const json = ctx.values['json'] === true;
    const options = runOptions(ctx, image, request !== undefined);
    if (json && options.out === '-')
      throw new ExtensionError('USAGE_INVALID', {
        problem: '`--out -` and `--json` both want stdout; give `--out FILE`',
      });

    const asyncInput = stringOption(ctx.values, 'async-input');
    if (asyncInput !== undefined && !/^s3:\/\/[^/\s]+/.test(asyncInput))
      throw new ExtensionError('USAGE_INVALID', {
        problem: `\`--async-input\` must be an s3://bucket/prefix/ URL, received "${asyncInput}"`,
      });

    const { ext, logger } = await ctx.boot();
    assertStrict(ext);
    const progress = createProgress({ enabled: ctx.values['no-progress'] !== true, logger });
    const concurrency = integer(ctx, 'concurrency');
    try {
      const { runImage } = await import('../../host/run.js');
      const summary = await runImage(
        {
          ...(image === undefined ? {} : { image }),
          ...(request === undefined ? {} : { request, requestSource: requestFile }),
          options,
        },
        {
          extensions: ext,
          logger,
          requestType: stringOption(ctx.values, 'request-type'),
          ...(concurrency === undefined ? {} : { concurrency }),
          ...(asyncInput === undefined ? {} : { asyncInputLocation: asyncInput }),
          onPlan: progress.start,
          onTile: progress.tick,
          // `--out -` goes where results go (the command's stdout), not through the stdout guard.
          stdout: {
            write: (chunk: string) => (ctx.stdout(chunk), true),
            once: () => undefined,
          } as unknown as NodeJS.WritableStream,
        },
      );
      progress.stop();
      if (json) ctx.stdout(`${JSON.stringify(summary)}\n`);
      else if (options.out !== '-') {
        const failed =
          summary.failedTiles.length === 0
            ? ''
            : `, ${summary.failedTiles.length} failed (${summary.failedTiles.map((f) => f.tile).join('; ')})`;
        ctx.stdout(
          `${summary.status}: ${summary.features} features from ${summary.tiles} tiles${failed} in ${summary.durationMs} ms -> ${summary.outputs.join(', ') || 'nothing written'}\n`,
        );
      }
      return summary.status === 'SUCCESS' ? 0 : 1;
    } finally {
      progress.stop();
    }
  },
};
