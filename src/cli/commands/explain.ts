/**
 * `explain`: why this pair — the request type's source, each slot's winner, and every other
 * candidate with the reason it lost or was refused. Exit 1 when no pair can be chosen.
 */
import { formatExplanation, styleFor } from '../output.js';
import { stringOption, type Command } from './command.js';

/** `osml-extensions explain`. */
export const explain: Command = {
  name: 'explain',
  summary: 'Explain the selection: where the request type came from, and why each candidate won or lost',
  usage: 'explain [--request-type TYPE] [--endpoint-type TYPE] [--json]',
  examples: [
    'osml-extensions explain --endpoint-type sagemaker',
    'osml-extensions explain --request-type sm_endpoint --json',
  ],
  options: { 'request-type': { type: 'string' }, 'endpoint-type': { type: 'string' } },
  optionHelp: {
    'request-type': 'Request type to explain (beats REQUEST_TYPE and the config)',
    'endpoint-type': 'Endpoint type of the model, e.g. sagemaker or async_sagemaker',
  },
  async run(ctx) {
    const { ext } = await ctx.boot();
    const { explain: explainSelection } = await import('../../select/explain.js');
    const explanation = explainSelection(
      { registry: ext.registry, config: ext.config, rejected: ext.rejected, disabled: ext.disabled },
      { requestType: stringOption(ctx.values, 'request-type'), endpoint: stringOption(ctx.values, 'endpoint-type') },
    );
    ctx.stdout(
      ctx.values['json'] === true
        ? `${JSON.stringify(explanation)}\n`
        : formatExplanation(explanation, styleFor(ctx.stdoutIsTTY)),
    );
    return explanation.status === 'failed' ? 1 : 0;
  },
};
