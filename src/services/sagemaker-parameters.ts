/**
 * Which of a request's `imageProcessorParameters` go to SageMaker, and how: OSML passes the keys
 * InvokeEndpoint takes and drops the rest with a warning; InvokeEndpointAsync takes fewer.
 */

/** `imageProcessorParameters` that InvokeEndpoint takes (OSML's list); others are dropped with a warning. */
export const SYNC_PARAMETERS = [
  'ContentType',
  'Accept',
  'CustomAttributes',
  'TargetModel',
  'TargetVariant',
  'TargetContainerHostname',
  'InferenceId',
  'EnableExplanations',
  'InferenceComponentName',
  'SessionId',
] as const;
/** The ones InvokeEndpointAsync takes. */
export const ASYNC_PARAMETERS = ['ContentType', 'Accept', 'CustomAttributes', 'InferenceId'] as const;
/** The numeric ones InvokeEndpointAsync takes. */
export const ASYNC_NUMBERS = ['RequestTTLSeconds', 'InvocationTimeoutSeconds'] as const;

/** The parameters a call takes, as strings (numbers for `numeric`); the names of the rest. */
export function pickParameters(
  parameters: Record<string, unknown> | undefined,
  strings: readonly string[],
  numeric: readonly string[] = [],
): { picked: Record<string, string | number>; ignored: string[] } {
  const picked: Record<string, string | number> = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(parameters ?? {})) {
    if (strings.includes(key) && ['string', 'number', 'boolean'].includes(typeof value)) picked[key] = String(value);
    else if (numeric.includes(key) && Number.isFinite(Number(value))) picked[key] = Number(value);
    else ignored.push(key);
  }
  return { picked, ignored };
}
