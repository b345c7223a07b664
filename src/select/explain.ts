/**
 * Explaining a selection: for each slot of the request type in force, the winner and why, and
 * every other candidate with the reason it lost or was refused. Plain data; the CLI formats it.
 */
import { BUILTIN_REQUEST_TYPE } from '../plugin/builtins.js';
import type { ResolvedConfig } from '../config.js';
import { ExtensionError, isExtensionError, type ErrorCode } from '../shared/errors.js';
import { toSource } from '../shared/paths.js';
import type { RegisteredHandler } from '../plugin/registry.js';
import {
  fallbackSelection,
  inferRequestType,
  normalizeEndpoint,
  pickRequestType,
  resolveSelection,
  type ResolveContext,
  type ResolveOptions,
  type Selection,
} from './resolve.js';
import { HandlerType, type SelectionSource, type Source } from '../shared/types.js';

/** The two slots of a request type, by their short name. */
export type SlotName = 'region' | 'image';

const SLOTS: readonly { slot: SlotName; handlerType: HandlerType }[] = [
  { slot: 'region', handlerType: HandlerType.REGION_REQUEST_HANDLER },
  { slot: 'image', handlerType: HandlerType.IMAGE_REQUEST_HANDLER },
];

/** Where a request type came from, with what a person needs to find it. */
export interface RequestTypeOrigin {
  source: SelectionSource;
  /** The request type this source gave. */
  requestType: string;
  /** `env`: the variable, `REQUEST_TYPE`. */
  variable?: 'REQUEST_TYPE';
  /** `config`: the config file, relative to the working directory. */
  file?: string;
  /** `endpoint`: the normalized endpoint type. */
  endpoint?: string;
  /** `endpoint`: the inference rule that applied. */
  rule?: string;
}

/** The handler that holds a slot and passed every check. */
export interface SlotWinner {
  name: string;
  source: Source;
  /** Why it won, in one sentence. */
  reason: string;
}

/** Why a candidate did not win its slot. */
export type CandidateStatus = 'duplicate-slot' | 'endpoint-unsupported' | 'disabled' | 'refused' | 'other-request-type';

/** A handler or plugin that could have filled the slot, and why it did not. */
export interface SlotCandidate {
  status: CandidateStatus;
  /** Handler name; absent for a refused plugin whose manifest could not be read. */
  name?: string;
  source: Source;
  /** `other-request-type`: the request type it serves. */
  requestType?: string;
  /** The error code behind the refusal, when there is one. */
  code?: ErrorCode;
  /** Why it lost, in one sentence (the full error message for refusals). */
  reason: string;
}

/** One slot of the request type in force. */
export interface SlotExplanation {
  handlerType: HandlerType;
  /** The handler in the slot, if it exists and passed the endpoint check. */
  winner: SlotWinner | null;
  candidates: SlotCandidate[];
}

/** A name in config `disabled` that matches no handler. */
export interface UnknownDisabled {
  name: string;
  didYouMean?: string;
}

/** A handler skipped because config `disabled` names it. */
export interface DisabledHandler {
  name: string;
  requestType: string;
  handlerType: HandlerType;
  source: Source;
}

/** What boot learned about config `disabled` (`Extensions.disabled`). */
export interface DisabledInfo {
  handlers: DisabledHandler[];
  unknown: UnknownDisabled[];
}

/** The explanation of a selection; `osml-extensions explain --json` prints exactly this. */
export interface Explanation {
  /** The request type asked for (before any fallback). */
  requestType: string;
  /** Which input decided it, and the detail to find that input. */
  from: RequestTypeOrigin;
  /** Lower-precedence inputs that also named a request type, and lost. */
  overridden: RequestTypeOrigin[];
  /** The normalized endpoint type, when one was given. */
  endpoint?: string;
  /** `selected`: the pair asked for; `fallback`: the built-in pair stands in; `failed`: nothing. */
  status: 'selected' | 'fallback' | 'failed';
  /** Why resolution failed (also when a fallback replaced it). */
  error?: { code: ErrorCode; message: string; didYouMean?: string };
  /** The pair in force: the asked-for one, or the built-ins on fallback; absent when failed. */
  selection?: {
    requestType: string;
    fallback: boolean;
    region: { name: string; source: Source };
    image: { name: string; source: Source };
  };
  slots: Record<SlotName, SlotExplanation>;
  /** Names in config `disabled` that match no handler, with a did-you-mean. */
  disabledUnknown: UnknownDisabled[];
}

/** What {@link explain} reads: a booted {@link Extensions} fits, plus what config `disabled` skipped. */
export interface ExplainInput extends ResolveContext {
  disabled?: DisabledInfo;
}

const ENDPOINT_RULES: Record<string, string> = {
  async_sm_endpoint: 'an endpoint type that mentions "async" gives async_sm_endpoint',
  sm_endpoint: 'an endpoint type that mentions "sagemaker" (or is "sm") gives sm_endpoint',
  [BUILTIN_REQUEST_TYPE]: `any other endpoint type gives ${BUILTIN_REQUEST_TYPE}`,
};

/** Every input that named a request type, in precedence order. */
function origins(options: ResolveOptions, config: ResolvedConfig): RequestTypeOrigin[] {
  const all: RequestTypeOrigin[] = [];
  if (options.requestType !== undefined) all.push({ source: 'argument', requestType: options.requestType });
  if (config.requestType.env !== undefined)
    all.push({ source: 'env', requestType: config.requestType.env, variable: 'REQUEST_TYPE' });
  if (config.requestType.config !== undefined) {
    all.push({
      source: 'config',
      requestType: config.requestType.config,
      ...(config.file === undefined ? {} : { file: toSource(config.cwd, config.file) }),
    });
  }
  if (options.endpoint !== undefined) {
    const inferred = inferRequestType(options.endpoint);
    all.push({
      source: 'endpoint',
      requestType: inferred,
      endpoint: normalizeEndpoint(options.endpoint),
      rule: ENDPOINT_RULES[inferred] ?? '',
    });
  }
  all.push({ source: 'default', requestType: BUILTIN_REQUEST_TYPE });
  return all;
}

function winnerReason(handler: RegisteredHandler, duplicates: number, endpoint: string | undefined): string {
  const parts = [
    duplicates === 0
      ? 'the only handler registered in this slot'
      : `registered first in this slot; ${duplicates} later one(s) refused as DUPLICATE_SLOT`,
  ];
  const supported = handler.supportedEndpoints ?? [];
  if (endpoint !== undefined)
    parts.push(
      supported.length === 0
        ? `supports any endpoint type, including "${endpoint}"`
        : `supports endpoint type "${endpoint}"`,
    );
  else if (supported.length > 0)
    parts.push(`no endpoint type given, so its supportedEndpoints (${supported.join(', ')}) were not checked`);
  return parts.join('; ');
}

/** One slot: the holder, then the losers in a fixed order. */
function explainSlot(
  input: ExplainInput,
  requestType: string,
  handlerType: HandlerType,
  endpoint: string | undefined,
): SlotExplanation {
  const { registry, rejected, config } = input;
  const candidates: SlotCandidate[] = [];
  const duplicates = rejected.filter(
    (r) =>
      isExtensionError(r.error, 'DUPLICATE_SLOT') &&
      r.error.params.requestType === requestType &&
      r.error.params.handlerType === handlerType,
  );
  const holder = registry.get(requestType, handlerType);
  let winner: SlotWinner | null = null;
  if (holder !== undefined) {
    const supported = holder.supportedEndpoints ?? [];
    if (endpoint !== undefined && supported.length > 0 && !supported.includes(endpoint)) {
      candidates.push({
        status: 'endpoint-unsupported',
        name: holder.name,
        source: holder.source,
        code: 'ENDPOINT_UNSUPPORTED',
        reason: `holds the slot but does not support endpoint type "${endpoint}" (it supports ${supported.join(', ')})`,
      });
    } else {
      winner = { name: holder.name, source: holder.source, reason: winnerReason(holder, duplicates.length, endpoint) };
    }
  }
  for (const r of duplicates) {
    const name = isExtensionError(r.error, 'DUPLICATE_SLOT') ? r.error.params.name : undefined;
    candidates.push({
      status: 'duplicate-slot',
      ...(name === undefined ? {} : { name }),
      source: r.source,
      code: r.code,
      reason: r.message,
    });
  }
  const file = config.file === undefined ? 'the config' : toSource(config.cwd, config.file);
  for (const d of input.disabled?.handlers ?? []) {
    if (d.requestType === requestType && d.handlerType === handlerType) {
      candidates.push({
        status: 'disabled',
        name: d.name,
        source: d.source,
        reason: `named in \`disabled\` in ${file}`,
      });
    }
  }
  for (const r of rejected) {
    if (r.level !== 'error' || r.code === 'DUPLICATE_SLOT' || !r.requestTypes.includes(requestType)) continue;
    const name = isExtensionError(r.error, 'DUPLICATE_NAME') ? r.error.params.name : undefined;
    candidates.push({
      status: 'refused',
      ...(name === undefined ? {} : { name }),
      source: r.source,
      code: r.code,
      reason: r.message,
    });
  }
  for (const h of registry.list()) {
    if (h.handlerType === handlerType && h.requestType !== requestType) {
      candidates.push({
        status: 'other-request-type',
        name: h.name,
        source: h.source,
        requestType: h.requestType,
        reason: `serves request type "${h.requestType}"`,
      });
    }
  }
  return { handlerType, winner, candidates };
}

/**
 * Explain the selection for `options` (same meaning as in `resolve`). Never throws for a
 * selection that fails: the error and its did-you-mean are part of the result. Throws only
 * `CONFIG_INVALID`, for a malformed request type argument or endpoint type. Does not construct
 * handlers and ignores `strict`.
 * @example
 * const ext = await loadExtensions({ cwd });
 * const why = explain(ext, { endpoint: 'sagemaker' });
 * why.slots.region.winner; // { name, source, reason }
 */
export function explain(input: ExplainInput, options: ResolveOptions = {}): Explanation {
  const { requestType, source } = pickRequestType(options, input.config);
  const endpoint = options.endpoint === undefined ? undefined : normalizeEndpoint(options.endpoint);
  const all = origins(options, input.config);
  const winnerIndex = all.findIndex((o) => o.source === source);
  const from = all[winnerIndex] ?? { source, requestType };

  let selection: Selection | undefined;
  let error: ExtensionError | undefined;
  try {
    selection = resolveSelection(input, { ...options, fallback: false });
  } catch (thrown) {
    // The request type and endpoint were already checked above, so any ExtensionError here is a
    // reason no pair can be chosen (unknown, incomplete, endpoint, a refused plugin…).
    if (!(thrown instanceof ExtensionError)) throw thrown;
    error = thrown;
    if (input.config.fallbackEnabled)
      selection = fallbackSelection({ source, ...(endpoint === undefined ? {} : { endpoint }) }, thrown);
  }
  const didYouMean =
    error !== undefined && isExtensionError(error, 'UNKNOWN_REQUEST_TYPE') ? error.params.suggestion : undefined;
  const [region, image] = SLOTS.map(({ handlerType }) => explainSlot(input, requestType, handlerType, endpoint)) as [
    SlotExplanation,
    SlotExplanation,
  ];
  return {
    requestType,
    from: { ...from, requestType },
    overridden: all.slice(winnerIndex + 1).filter((o) => o.source !== 'default'),
    ...(endpoint === undefined ? {} : { endpoint }),
    status: selection === undefined ? 'failed' : selection.fallback ? 'fallback' : 'selected',
    ...(error === undefined
      ? {}
      : { error: { code: error.code, message: error.message, ...(didYouMean === undefined ? {} : { didYouMean }) } }),
    ...(selection === undefined
      ? {}
      : {
          selection: {
            requestType: selection.requestType,
            fallback: selection.fallback,
            region: { name: selection.region.name, source: selection.region.source },
            image: { name: selection.image.name, source: selection.image.source },
          },
        }),
    slots: { region, image },
    disabledUnknown: input.disabled?.unknown ?? [],
  };
}
