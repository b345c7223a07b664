/**
 * `resolve` and `start`: choose the handler pair; `start` also constructs it (the main job).
 */
import { defaultDeps } from '../builtins.js';
import { formatSelection, selectionDocument } from '../cli-output.js';
import { ExtensionError } from '../errors.js';
import type { Extensions } from '../extensions.js';
import { stringOption, type Command, type CommandContext } from './command.js';

const options = { 'request-type': { type: 'string' }, 'endpoint-type': { type: 'string' } } as const;
const optionHelp = {
  'request-type': 'Request type to use (beats REQUEST_TYPE and the config)',
  'endpoint-type': 'Endpoint type of the model, e.g. sagemaker or async_sagemaker',
};

/** Strict mode: a refused plugin fails these commands before anything is chosen. */
function assertNoRefusals(ext: Extensions): void {
  const refused = ext.rejected.filter((r) => r.level === 'error');
  if (ext.config.strict && refused.length > 0) throw new ExtensionError('PLUGINS_REJECTED', { sources: refused.map((r) => r.source) });
}

const selector = (ctx: CommandContext) => ({ requestType: stringOption(ctx.values, 'request-type'), endpoint: stringOption(ctx.values, 'endpoint-type') });

/** `osml-extensions resolve`. */
export const resolve: Command = {
  name: 'resolve',
  summary: 'Show the handler pair in force and why it was chosen',
  usage: 'resolve [--request-type TYPE] [--endpoint-type TYPE] [--json]',
  examples: ['osml-extensions resolve --endpoint-type sagemaker', 'REQUEST_TYPE=async_sm_endpoint osml-extensions resolve --json'],
  options,
  optionHelp,
  async run(ctx) {
    const { ext } = await ctx.boot();
    assertNoRefusals(ext);
    const selection = ext.resolve(selector(ctx));
    ctx.stdout(ctx.values['json'] === true ? `${JSON.stringify(selectionDocument(selection))}\n` : formatSelection(selection));
    return 0;
  },
};

/** `osml-extensions start`: the main job. */
export const start: Command = {
  name: 'start',
  summary: 'Boot, resolve, construct the pair with the default services, log ready',
  usage: 'start [--request-type TYPE] [--endpoint-type TYPE] [--json]',
  examples: ['osml-extensions start', 'osml-extensions start --request-type sm_endpoint'],
  options,
  optionHelp,
  async run(ctx) {
    const { ext, logger } = await ctx.boot();
    assertNoRefusals(ext);
    const pair = await ext.start({ ...selector(ctx), deps: defaultDeps(logger) });
    const { selection } = pair;
    logger.info({ event: 'ready', requestType: selection.requestType, region: selection.region.name, image: selection.image.name }, 'ready');
    ctx.stdout(ctx.values['json'] === true ? `${JSON.stringify(selectionDocument(selection))}\n` : formatSelection(selection));
    return 0;
  },
};
