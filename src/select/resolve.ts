/**
 * Resolution: which request type is in force (argument > env > config > endpoint > default),
 * whether its pair is complete and supports the endpoint, and the fallback to the built-ins.
 */
import { z } from 'zod';
import { BUILTIN_HANDLERS, BUILTIN_REQUEST_TYPE } from '../plugin/builtins.js';
import type { ResolvedConfig } from '../config.js';
import { ExtensionError } from '../shared/errors.js';
import { formatIssues } from '../shared/format-issues.js';
import { requestTypeSchema } from '../plugin/manifest.js';
import type { RegisteredHandler, Registry } from '../plugin/registry.js';
import { closest } from '../shared/suggest.js';
import { HandlerType, type SelectionSource } from '../shared/types.js';
import type { Rejection } from '../shared/errors.js';

/** What the caller may pin when resolving. */
export interface ResolveOptions {
  /** Request type to use; beats `REQUEST_TYPE` and the config. */
  requestType?: string | undefined;
  /** Endpoint type of the model (`http`, `sagemaker`, `async_sagemaker`, or a user's own). */
  endpoint?: string | undefined;
  /** Fall back to the built-in pair when no pair can be chosen. @default config `fallbackEnabled` */
  fallback?: boolean | undefined;
}

/** The handler pair in force and how it was chosen. */
export interface Selection {
  requestType: string;
  /** Which input decided the request type. */
  source: SelectionSource;
  /** True when the built-in pair replaced the requested one. */
  fallback: boolean;
  /** Why the fallback happened (the message of the error it replaced). */
  fallbackReason?: string;
  /** Endpoint type the pair was checked against, if one was given (normalized). */
  endpoint?: string;
  region: RegisteredHandler;
  image: RegisteredHandler;
}

/** What resolution reads. */
export interface ResolveContext {
  registry: Registry;
  config: ResolvedConfig;
  rejected: readonly Rejection[];
}

const endpointSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9_.:-]{0,63}$/, 'must be an endpoint type name such as "http" or "sagemaker"');

/** Normalize an endpoint type: lower case, and `sm` is short for `sagemaker`. */
export function normalizeEndpoint(endpoint: string): string {
  const result = endpointSchema.safeParse(endpoint, { reportInput: true });
  if (!result.success) {
    throw new ExtensionError('CONFIG_INVALID', {
      where: 'the endpoint type',
      problems: formatIssues(result.error.issues, []).map((p) => p.replace('(root)', 'endpoint')),
    });
  }
  return result.data === 'sm' ? 'sagemaker' : result.data;
}

/** The request type an endpoint type implies: `async…` → `async_sm_endpoint`, SageMaker → `sm_endpoint`, else `http`. */
export function inferRequestType(endpoint: string): string {
  const type = normalizeEndpoint(endpoint);
  if (type.includes('async')) return 'async_sm_endpoint';
  if (type.includes('sagemaker')) return 'sm_endpoint';
  return BUILTIN_REQUEST_TYPE;
}

/** Apply the precedence: argument > `REQUEST_TYPE` > config > endpoint > default. */
export function pickRequestType(
  options: ResolveOptions,
  config: ResolvedConfig,
): { requestType: string; source: SelectionSource } {
  if (options.requestType !== undefined) {
    const parsed = requestTypeSchema.safeParse(options.requestType, { reportInput: true });
    if (!parsed.success) {
      throw new ExtensionError('CONFIG_INVALID', {
        where: 'the requestType argument',
        problems: formatIssues(parsed.error.issues, []).map((p) => p.replace('(root)', 'requestType')),
      });
    }
    return { requestType: parsed.data, source: 'argument' };
  }
  if (config.requestType.env !== undefined) return { requestType: config.requestType.env, source: 'env' };
  if (config.requestType.config !== undefined) return { requestType: config.requestType.config, source: 'config' };
  if (options.endpoint !== undefined) return { requestType: inferRequestType(options.endpoint), source: 'endpoint' };
  return { requestType: BUILTIN_REQUEST_TYPE, source: 'default' };
}

const FROM: Record<SelectionSource, string> = {
  argument: 'the argument',
  env: 'REQUEST_TYPE',
  config: 'the config file',
  endpoint: 'the endpoint type',
  default: 'the default',
};

/** Refusals that happen before a plugin can say which request types it serves. */
const UNREADABLE = new Set<string>(['IMPORT_FAILED', 'IMPORT_TIMEOUT', 'MANIFEST_MISSING', 'VANISHED']);

/** Rejected plugins that declared this request type. */
function refusedFor(requestType: string, rejected: readonly Rejection[]): { source: string; code: string }[] {
  const seen = new Set<string>();
  return rejected
    .filter((r) => r.requestTypes.includes(requestType))
    .map((r) => ({ source: r.source, code: r.code }))
    .filter((r) => !seen.has(`${r.source}\0${r.code}`) && seen.add(`${r.source}\0${r.code}`) !== undefined);
}

/**
 * The pair for a request type, or the error that says why there is none: the one check resolve,
 * explain, live reload and the testing helpers share.
 */
export function pairFor(
  ctx: ResolveContext,
  requestType: string,
  from: string,
  endpoint: string | undefined,
): { region: RegisteredHandler; image: RegisteredHandler } {
  const { registry, config, rejected } = ctx;
  const region = registry.get(requestType, HandlerType.REGION_REQUEST_HANDLER);
  const image = registry.get(requestType, HandlerType.IMAGE_REQUEST_HANDLER);
  const refused = refusedFor(requestType, rejected);
  if (region === undefined && image === undefined) {
    const known = registry.requestTypes();
    const unreadable = rejected
      .filter((r) => r.level === 'error' && r.requestTypes.length === 0 && UNREADABLE.has(r.code))
      .map((r) => ({ source: r.source, code: r.code }));
    throw new ExtensionError('UNKNOWN_REQUEST_TYPE', {
      requestType,
      from,
      known,
      suggestion: closest(requestType, known),
      extensionsOff: !config.useExtensions,
      refused,
      ...(unreadable.length === 0 ? {} : { unreadable }),
    });
  }
  if (region === undefined || image === undefined) {
    const present = (region ?? image) as RegisteredHandler;
    const missing = region === undefined ? HandlerType.REGION_REQUEST_HANDLER : HandlerType.IMAGE_REQUEST_HANDLER;
    throw new ExtensionError('INCOMPLETE_REQUEST_TYPE', {
      requestType,
      from,
      missing,
      present: `${present.handlerType} "${present.name}" (${present.source})`,
      refused,
    });
  }
  // Isolate during discovery, fail when a selected plugin is broken (stevedore): another copy
  // registering the type does not hide that a plugin declaring it was refused.
  if (refused.length > 0) {
    const first = rejected.find((r) => r.requestTypes.includes(requestType));
    throw new ExtensionError('SELECTED_PLUGIN_REFUSED', { requestType, refused }, { cause: first?.error });
  }
  if (endpoint !== undefined) {
    for (const handler of [region, image]) {
      const supported = handler.supportedEndpoints ?? [];
      if (supported.length > 0 && !supported.includes(endpoint)) {
        throw new ExtensionError('ENDPOINT_UNSUPPORTED', {
          endpoint,
          name: handler.name,
          source: handler.source,
          supported,
        });
      }
    }
  }
  return { region, image };
}

/**
 * Choose the handler pair. Throws `UNKNOWN_REQUEST_TYPE`, `INCOMPLETE_REQUEST_TYPE` or
 * `ENDPOINT_UNSUPPORTED`, unless fallback is enabled: then the built-in pair is returned with
 * `fallback: true` (never a mix of two request types).
 */
export function resolveSelection(ctx: ResolveContext, options: ResolveOptions = {}): Selection {
  const { requestType, source } = pickRequestType(options, ctx.config);
  const endpoint = options.endpoint === undefined ? undefined : normalizeEndpoint(options.endpoint);
  const base = { source, ...(endpoint === undefined ? {} : { endpoint }) };
  try {
    return { ...base, requestType, fallback: false, ...pairFor(ctx, requestType, FROM[source], endpoint) };
  } catch (error) {
    if (!(options.fallback ?? ctx.config.fallbackEnabled) || !(error instanceof ExtensionError)) throw error;
    return fallbackSelection(base, error);
  }
}

/** The built-in pair standing in for a selection that failed. */
export function fallbackSelection(
  base: { source: SelectionSource; endpoint?: string },
  error: ExtensionError,
): Selection {
  return {
    ...base,
    requestType: BUILTIN_REQUEST_TYPE,
    fallback: true,
    fallbackReason: `${error.code}: ${error.message}`,
    region: BUILTIN_HANDLERS.region,
    image: BUILTIN_HANDLERS.image,
  };
}
