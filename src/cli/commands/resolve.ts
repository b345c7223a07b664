/**
 * `resolve` and `start`: choose the handler pair; `start` also constructs it (the main job),
 * and with `--watch` keeps running, reloading plugins as they change, until SIGINT/SIGTERM.
 */
import { formatSelection, selectionDocument, styleFor } from '../output.js';
import { ExtensionError } from '../../shared/errors.js';
import { assertStrict } from '../../host/strict.js';
import { toSource } from '../../shared/paths.js';
import type { Selection } from '../../select/resolve.js';
import { stringOption, type Command, type CommandContext } from './command.js';

const options = { 'request-type': { type: 'string' }, 'endpoint-type': { type: 'string' } } as const;
const optionHelp = {
  'request-type': 'Request type to use (beats REQUEST_TYPE and the config)',
  'endpoint-type': 'Endpoint type of the model, e.g. sagemaker or async_sagemaker',
};

const selector = (ctx: CommandContext) => ({
  requestType: stringOption(ctx.values, 'request-type'),
  endpoint: stringOption(ctx.values, 'endpoint-type'),
});

const printSelection = (ctx: CommandContext, selection: Selection): void =>
  ctx.stdout(
    ctx.values['json'] === true
      ? `${JSON.stringify(selectionDocument(selection))}\n`
      : formatSelection(selection, styleFor(ctx.stdoutIsTTY)),
  );

/** `--max-reloads N`: a whole number ≥ 1. */
function maxReloads(ctx: CommandContext): number | undefined {
  const raw = stringOption(ctx.values, 'max-reloads');
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw))
    throw new ExtensionError('USAGE_INVALID', {
      problem: `\`--max-reloads\` must be a whole number ≥ 1, received "${raw}"`,
    });
  return Number(raw);
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  // Signal listeners do not keep Node alive: without a timer, a process whose watchers have all
  // stopped (reload limit, no plugin root, extensions off) would exit 13 on the pending await.
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearInterval(keepAlive);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `osml-extensions resolve`. */
export const resolve: Command = {
  name: 'resolve',
  summary: 'Show the handler pair in force and why it was chosen',
  usage: 'resolve [--request-type TYPE] [--endpoint-type TYPE] [--json]',
  examples: [
    'osml-extensions resolve --endpoint-type sagemaker',
    'REQUEST_TYPE=async_sm_endpoint osml-extensions resolve --json',
  ],
  options,
  optionHelp,
  async run(ctx) {
    const { ext } = await ctx.boot();
    assertStrict(ext);
    printSelection(ctx, ext.resolve(selector(ctx)));
    return 0;
  },
};

/** `osml-extensions start`: the main job. */
export const start: Command = {
  name: 'start',
  summary: 'Boot, resolve, construct the pair with the default services, log ready; --watch keeps reloading',
  usage: 'start [--request-type TYPE] [--endpoint-type TYPE] [--watch [--max-reloads N]] [--json]',
  examples: [
    'osml-extensions start',
    'osml-extensions start --request-type sm_endpoint',
    'osml-extensions start --watch',
  ],
  options: { ...options, watch: { type: 'boolean' }, 'max-reloads': { type: 'string' } },
  optionHelp: {
    ...optionHelp,
    watch: 'Keep running; reload plugins when a plugin folder is added, changed or removed (stop with Ctrl-C)',
    'max-reloads': 'With --watch: stop reloading after N reloads (each keeps old code in memory) [default: 100]',
  },
  async run(ctx) {
    const watching = ctx.values['watch'] === true;
    if (!watching && ctx.values['max-reloads'] !== undefined)
      throw new ExtensionError('USAGE_INVALID', { problem: '`--max-reloads` only applies with `--watch`' });
    const limit = maxReloads(ctx);
    const { ext, logger } = await ctx.boot();
    assertStrict(ext);
    const { defaultDeps } = await import('../../plugin/builtins.js');
    const deps = defaultDeps(logger, { asyncInputLocation: ext.config.asyncInputLocation });
    if (!watching) {
      const { selection } = await ext.start({ ...selector(ctx), deps });
      logger.info(
        {
          event: 'ready',
          requestType: selection.requestType,
          region: selection.region.name,
          image: selection.image.name,
        },
        'ready',
      );
      printSelection(ctx, selection);
      return 0;
    }
    const { watch } = await import('../../host/watch.js');
    const live = await watch({
      extensions: ext,
      logger,
      ...selector(ctx),
      deps,
      ...(limit === undefined ? {} : { maxReloads: limit }),
    });
    const { selection } = live.current();
    // Listen before saying ready: a supervisor may send SIGTERM the moment it reads that line, and
    // a signal that finds no listener kills the process instead of stopping it cleanly.
    const stopped = untilSignal();
    logger.info(
      {
        event: 'ready',
        requestType: selection.requestType,
        region: selection.region.name,
        image: selection.image.name,
        roots: ext.config.pluginDirs.map((root) => toSource(ext.config.cwd, root)),
      },
      'ready; watching plugins',
    );
    printSelection(ctx, selection);
    const signal = await stopped;
    await live.close();
    logger.info({ event: 'stopped', signal, generation: live.current().generation }, 'stopped watching');
    return 0;
  },
};
