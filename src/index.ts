/** osml-extensions: the public API. Names only; no logic here. */
export { BUILTIN_HANDLERS, BUILTIN_REQUEST_TYPE, defaultDeps } from './builtins.js';
export { configSchema, loadConfig, MODULE_NAME, type ConfigFile, type ConfigOptions, type ResolvedConfig } from './config.js';
export { discover, INDEX_FILES, type DiscoverOptions, type DiscoveryResult, type PluginCandidate } from './discover.js';
export { describeThrown, ERROR_CODES, ExtensionError, isExtensionError, type ErrorCode, type ErrorParams } from './errors.js';
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
} from './explain.js';
export { assertStrict, loadExtensions, type Extensions, type LoadExtensionsOptions } from './extensions.js';
export { checkDependencies, instantiate, type HandlerPair } from './instantiate.js';
export { loadPlugin, loadPlugins, TYPESCRIPT_EXTENSIONS, type LoadedPlugin, type LoadOptions } from './load.js';
export { createLogger, silentLogger, type LoggerOptions } from './log.js';
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
} from './manifest.js';
export { Registry, toRegistered, type HandlerInfo, type RegisteredHandler, type RegistryStats } from './registry.js';
export { inferRequestType, normalizeEndpoint, pickRequestType, resolveSelection, type ResolveOptions, type Selection } from './resolve.js';
export { jsonSchema, SCHEMA_KINDS, type SchemaKind } from './schema.js';
export { HANDLER_METHODS, HandlerType, LOG_LEVELS, type Deps, type HandlerClass, type Logger, type LogLevel, type Rejection, type SelectionSource, type Source } from './types.js';
export { diffExtensions, watch, type ReloadChanges, type ReloadEvent, type WatchFailure, type WatchHandle, type WatchOptions, type WatchState } from './watch.js';
export { isInside, vet, type VettedCandidate } from './vet.js';
export { Lock, pinFolder, writeLock } from './integrity.js';
export * from './handlers/index.js';
