/**
 * osml-extensions: the public API. Names only; no logic here. What a host needs (boot, resolve,
 * instantiate, watch, run an image) and what a plugin author needs (the decorator, the handler base
 * classes and types, the error class and codes); the boot stages themselves stay internal.
 */
export { BUILTIN_HANDLERS, BUILTIN_REQUEST_TYPE, defaultDeps } from './plugin/builtins.js';
export {
  configSchema,
  loadConfig,
  MODULE_NAME,
  type ConfigFile,
  type ConfigOptions,
  type ResolvedConfig,
} from './config.js';
export {
  describeThrown,
  ERROR_CODES,
  ExtensionError,
  isExtensionError,
  type ErrorCode,
  type ErrorParams,
  type Rejection,
} from './shared/errors.js';
export {
  explain,
  type CandidateStatus,
  type DisabledHandler,
  type DisabledInfo,
  type ExplainInput,
  type Explanation,
  type RequestTypeOrigin,
  type SlotCandidate,
  type SlotExplanation,
  type SlotName,
  type SlotWinner,
  type UnknownDisabled,
} from './select/explain.js';
export { assertStrict, loadExtensions, type Extensions, type LoadExtensionsOptions } from './host/extensions.js';
export { checkDependencies, instantiate, type HandlerPair } from './select/instantiate.js';
export { createLogger, type LoggerOptions } from './cli/log.js';
export {
  attachedManifest,
  HANDLER_NAME_PATTERN,
  manifestSchema,
  MANIFEST_KEY,
  registerHandler,
  REQUEST_TYPE_PATTERN,
  validateManifest,
  type HandlerOptions,
  type Manifest,
  type ManifestInput,
} from './plugin/manifest.js';
export {
  Registry,
  toRegistered,
  type HandlerInfo,
  type RegisteredHandler,
  type RegistryStats,
} from './plugin/registry.js';
export { resolveSelection, type ResolveOptions, type Selection } from './select/resolve.js';
export { jsonSchema, SCHEMA_KINDS, type SchemaKind } from './authoring/schema.js';
export {
  HANDLER_METHODS,
  HandlerType,
  LOG_LEVELS,
  silentLogger,
  type Deps,
  type HandlerClass,
  type Logger,
  type LogLevel,
  type SelectionSource,
  type Source,
} from './shared/types.js';
export {
  diffExtensions,
  watch,
  type ReloadChanges,
  type ReloadEvent,
  type WatchFailure,
  type WatchHandle,
  type WatchOptions,
  type WatchState,
} from './host/watch.js';
export * from './handlers/index.js';
export { createAwsServices, type AwsServices, type AwsServicesOptions, type OutputSink } from './services/aws.js';
export type { AsyncPolling } from './services/sagemaker.js';
export { SAGEMAKER_MAX_BODY_BYTES, type SageMakerRuntime } from './services/types.js';
export { createLimiter, mapBounded, type Limiter } from './shared/concurrency.js';
export { runImage, type RunImageOptions, type RunInput, type RunSummary } from './host/run.js';
export { buildRunRequest, parseImageRequest, type RunOptions, type RunRequest } from './runner/request.js';
