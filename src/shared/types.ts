/**
 * Public types shared by several modules.
 */

/**
 * The two kinds of handler a request type needs. The values are plain strings so that
 * plain-JavaScript plugins can write `'REGION_REQUEST_HANDLER'` instead of importing the enum.
 */
export enum HandlerType {
  /** Processes one region of an image; method `processRegionRequest`. */
  REGION_REQUEST_HANDLER = 'REGION_REQUEST_HANDLER',
  /** Orchestrates a whole image; method `processImageRequest`. */
  IMAGE_REQUEST_HANDLER = 'IMAGE_REQUEST_HANDLER',
}

/** The method a handler class must have on its prototype, per handler type. */
export const HANDLER_METHODS = {
  [HandlerType.REGION_REQUEST_HANDLER]: 'processRegionRequest',
  [HandlerType.IMAGE_REQUEST_HANDLER]: 'processImageRequest',
} as const satisfies Record<HandlerType, string>;

/** Services the host hands to handler constructors, by name. */
export type Deps = Record<string, unknown>;

/** A handler class: constructed with one deps object. */
export type HandlerClass = abstract new (deps: any) => object;

/**
 * Where a handler or a rejection came from: `builtin`, or the entry file's path relative to the
 * working directory with `/` separators, e.g. `plugins/custom/index.mjs`.
 */
export type Source = string;

/** Which input decided the request type in force. */
export type SelectionSource = 'argument' | 'env' | 'config' | 'endpoint' | 'default';

/** A pino-compatible logger: the library only ever calls these methods. */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A logger that drops everything: the library default, so it never writes on its own. */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };

/** Log levels accepted by config, `LOG_LEVEL` and `--log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];
