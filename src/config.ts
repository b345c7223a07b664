/**
 * Configuration: cosmiconfig search, a strict zod schema, then the environment overlay, normalized
 * once into a fully defaulted {@link ResolvedConfig}. Nothing downstream re-checks defaults.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cosmiconfig } from 'cosmiconfig';
import sjson from 'secure-json-parse';
import { z } from 'zod';
import { ExtensionError, describeThrown } from './shared/errors.js';
import { formatIssues } from './shared/format-issues.js';
import { HANDLER_NAME_PATTERN, requestTypeSchema } from './plugin/manifest.js';
import { relativePaths, toSource } from './shared/paths.js';
import { closest } from './shared/suggest.js';
import { LOG_LEVELS, type LogLevel } from './shared/types.js';

/** The cosmiconfig module name: `.osml-extensionsrc*`, `osml-extensions.config.*`, `package.json#osml-extensions`. */
export const MODULE_NAME = 'osml-extensions';

const SEARCH_PLACES = [
  'package.json',
  `.${MODULE_NAME}rc`,
  `.${MODULE_NAME}rc.json`,
  `.${MODULE_NAME}rc.yaml`,
  `.${MODULE_NAME}rc.yml`,
  `.${MODULE_NAME}rc.js`,
  `.${MODULE_NAME}rc.mjs`,
  `.${MODULE_NAME}rc.cjs`,
  `${MODULE_NAME}.config.json`,
  `${MODULE_NAME}.config.js`,
  `${MODULE_NAME}.config.mjs`,
  `${MODULE_NAME}.config.cjs`,
];

/** Where the search for a config file looked when it found none, and a file that looks like a misnamed one. */
export interface ConfigSearch {
  /** The folder the search started in (the working directory), relative to it: `.`. */
  from: string;
  /** Where it stopped: the folder of the nearest package.json, or the file-system root. */
  stoppedAt: string;
  /** A file in the working directory whose name is close to a config file's (`osml-extensions.json`). */
  nearMiss?: { file: string; didYouMean: string };
}

/** The nearest folder at or above `dir` holding a package.json (where cosmiconfig's project search stops). */
async function projectRoot(dir: string): Promise<string> {
  for (let at = dir; ; at = path.dirname(at)) {
    if (
      await stat(path.join(at, 'package.json')).then(
        () => true,
        () => false,
      )
    )
      return at;
    if (path.dirname(at) === at) return at;
  }
}

/** The config file name a misnamed file most likely meant, by its extension. */
function meantName(file: string): string | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return `.${MODULE_NAME}rc${ext}`;
  const config = `${MODULE_NAME}.config${ext}`;
  return SEARCH_PLACES.includes(config) ? config : closest(file, SEARCH_PLACES);
}

/** Where the search looked, and a near-miss file name, for a project with no config file. */
async function describeSearch(cwd: string): Promise<ConfigSearch> {
  const names = (await readdir(cwd).catch(() => [] as string[])).sort();
  const miss = names
    .filter((n) => /osml/i.test(n) && !SEARCH_PLACES.includes(n) && n !== LOCK_FILE)
    .map((file) => ({ file, didYouMean: meantName(file) }))
    .find((m): m is { file: string; didYouMean: string } => m.didYouMean !== undefined);
  const stoppedAt = toSource(cwd, await projectRoot(cwd));
  return { from: '.', stoppedAt, ...(miss === undefined ? {} : { nearMiss: miss }) };
}

/** The most values a config may hold; real configs hold a few dozen. */
const CONFIG_NODE_BUDGET = 10_000;

/**
 * Why a parsed config cannot be used, if it cannot: a prototype-poisoning key (`__proto__`, or
 * `constructor` holding `prototype`), a value that contains itself, or more than
 * {@link CONFIG_NODE_BUDGET} values (counting shared ones each time they appear, as a YAML alias
 * bomb does). Iterative, so no depth can overflow the stack.
 */
export function scanConfigValue(root: unknown): string | undefined {
  // Depth-first with explicit exit markers: `open` holds exactly the objects on the current path.
  const stack: { value: unknown; exit: boolean }[] = [{ value: root, exit: false }];
  const open = new Set<object>();
  let seen = 0;
  while (stack.length > 0) {
    const { value, exit } = stack.pop()!;
    if (exit) {
      open.delete(value as object);
      continue;
    }
    if (++seen > CONFIG_NODE_BUDGET)
      return `it holds more than ${CONFIG_NODE_BUDGET} values (YAML aliases that expand?)`;
    if (value === null || typeof value !== 'object') continue;
    if (open.has(value)) return 'a value contains itself (a cyclic reference)';
    open.add(value);
    stack.push({ value, exit: true });
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (
        key === '__proto__' ||
        (key === 'constructor' && child !== null && typeof child === 'object' && 'prototype' in child)
      ) {
        return 'a `__proto__` or `constructor.prototype` key is not allowed';
      }
      stack.push({ value: child, exit: false });
    }
  }
  return undefined;
}

/** secure-json-parse options: refuse prototype-poisoning keys outright. */
export const POISON = { protoAction: 'error', constructorAction: 'error' } as const;

/** The config file schema, strict: an unknown key is an error, not a silently ignored typo. */
export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  requestType: requestTypeSchema.optional(),
  pluginDirs: z.array(z.string().min(1)).optional(),
  useExtensions: z.boolean().optional(),
  fallbackEnabled: z.boolean().optional(),
  strict: z.boolean().optional(),
  disabled: z.array(z.string().regex(HANDLER_NAME_PATTERN, 'must be a handler name')).optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  cache: z.boolean().optional(),
  cacheDir: z.string().min(1).optional(),
  slowPluginMs: z.number().int().positive().optional(),
  importTimeoutMs: z.number().int().positive().optional(),
  maxEntryBytes: z.number().int().positive().optional(),
  permissions: z.enum(['strict', 'warn', 'off']).optional(),
  probe: z.boolean().optional(),
  allowUnpinned: z.boolean().optional(),
  asyncInputLocation: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'must be an s3://bucket/prefix/ URL')
    .optional(),
});

/** What a config file may hold. */
export type ConfigFile = z.infer<typeof configSchema>;

/** Options for {@link loadConfig}; the CLI's flags arrive as `overrides`. */
export interface ConfigOptions {
  /** Working directory: where the config search starts and what sources are relative to. @default process.cwd() */
  cwd?: string;
  /** Use this config file instead of searching. */
  configFile?: string;
  /** Environment to read `REQUEST_TYPE`, `USE_EXTENSIONS`, `EXTENSION_FALLBACK_ENABLED`, `LOG_LEVEL` from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Values that beat both the environment and the file (CLI flags). `pluginDirs` are relative to `cwd`. */
  overrides?: {
    pluginDirs?: string[];
    strict?: boolean;
    logLevel?: LogLevel;
    useExtensions?: boolean;
    fallbackEnabled?: boolean;
    cache?: boolean;
  };
}

/** The fully defaulted configuration. */
export interface ResolvedConfig {
  cwd: string;
  /** Absolute path of the config file used, if any. */
  file: string | undefined;
  /** When no config file was found (and none was named): where the search looked. */
  search?: ConfigSearch;
  /** Absolute plugin roots, in order. */
  pluginDirs: string[];
  /** False when the roots are the default `plugins`: a missing default root is only a warning. */
  pluginDirsNamed: boolean;
  /** Request type from each source that set one; `resolve` applies the precedence. */
  requestType: { env?: string; config?: string };
  useExtensions: boolean;
  fallbackEnabled: boolean;
  strict: boolean;
  disabled: string[];
  logLevel: LogLevel;
  /** Absolute folder of the manifest cache, or `false` when the cache is off. */
  cache: string | false;
  /** Plugins whose import takes longer than this are logged as a warning. */
  slowPluginMs: number;
  /** An import that takes longer fails with `IMPORT_TIMEOUT`. */
  importTimeoutMs: number;
  /** Entries larger than this are refused with `ENTRY_TOO_LARGE`, unread. */
  maxEntryBytes: number;
  /** OpenSSH-style ownership and mode checks: refuse, warn, or skip. */
  permissions: 'strict' | 'warn' | 'off';
  /** Import each new or changed plugin in a child process first, under the timeout. */
  probe: boolean;
  /** With a lock file, let plugins missing from it load (with a warning). */
  allowUnpinned: boolean;
  /** Where the async SageMaker request type puts tiles, `s3://bucket/prefix/` (`--async-input` beats it). */
  asyncInputLocation?: string;
  /** Where `osml-extensions lock` writes and the loader reads the lock file. */
  lockFile: string;
}

/** The lock file's name, next to the config file (or in the working directory). */
export const LOCK_FILE = 'osml-extensions.lock.json';

/** Where the manifest cache lives unless `cacheDir` says otherwise (relative to the config's folder). */
export const DEFAULT_CACHE_DIR = 'node_modules/.cache/osml-extensions';

const BOOLEAN_WORDS = new Map([
  ...['true', '1', 'yes', 'on'].map((w) => [w, true] as const),
  ...['false', '0', 'no', 'off'].map((w) => [w, false] as const),
]);

/** Parse a boolean environment variable; empty means unset. */
function envBoolean(env: ConfigOptions['env'] & object, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = BOOLEAN_WORDS.get(raw.trim().toLowerCase());
  if (value === undefined) {
    throw new ExtensionError('CONFIG_INVALID', {
      where: `the environment variable ${name}`,
      problems: [`expected true/false/1/0/yes/no/on/off, received ${JSON.stringify(raw)}`],
    });
  }
  return value;
}

function envValue<T>(env: ConfigOptions['env'] & object, name: string, schema: z.ZodType<T>): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const result = schema.safeParse(raw.trim(), { reportInput: true });
  if (result.success) return result.data;
  throw new ExtensionError('CONFIG_INVALID', {
    where: `the environment variable ${name}`,
    problems: formatIssues(result.error.issues, []).map((p) => p.replace('(root)', name)),
  });
}

async function readConfigFile(
  cwd: string,
  configFile: string | undefined,
): Promise<{ file: string; data: unknown } | undefined> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'project',
    cache: false,
    // JSON is parsed with prototype-poisoning protection: a `__proto__` or `constructor.prototype`
    // key is an error, not a key that a later merge could turn into pollution.
    loaders: { '.json': (_file: string, content: string) => sjson.parse(content, POISON) },
  });
  const target = configFile === undefined ? undefined : path.resolve(cwd, configFile);
  try {
    const found = target === undefined ? await explorer.search(cwd) : await explorer.load(target);
    return found === null ? undefined : { file: found.filepath, data: found.isEmpty === true ? {} : found.config };
  } catch (cause) {
    // cosmiconfig's parse errors carry the file that failed, also when it was found by searching.
    const failed = (cause as { filepath?: unknown }).filepath;
    const where = toSource(cwd, typeof failed === 'string' ? failed : (target ?? cwd));
    const missing = (cause as { code?: unknown }).code === 'ENOENT';
    // Parsers quote the file by its absolute path; messages name it relative to the working directory.
    const problem = missing ? 'file not found' : relativePaths(describeThrown(cause), cwd);
    throw new ExtensionError('CONFIG_INVALID', { where, problems: [problem] }, { cause });
  }
}

/**
 * Find and validate the config, overlay the environment and the overrides.
 * Throws `CONFIG_INVALID` naming the file (or variable) and every bad field.
 */
export async function loadConfig(options: ConfigOptions = {}): Promise<ResolvedConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const overrides = options.overrides ?? {};
  const found = await readConfigFile(cwd, options.configFile);

  let file: ConfigFile = {};
  if (found !== undefined) {
    // YAML and JavaScript configs get the same check after parsing, bounded: a YAML alias bomb or a
    // JavaScript config that refers to itself must end in CONFIG_INVALID, not a hung or crashed boot.
    const problem = scanConfigValue(found.data);
    if (problem !== undefined) {
      throw new ExtensionError('CONFIG_INVALID', {
        where: toSource(cwd, found.file),
        problems: [`(root): ${problem}`],
      });
    }
    const result = configSchema.safeParse(found.data, { reportInput: true });
    const where =
      path.basename(found.file) === 'package.json'
        ? `${toSource(cwd, found.file)} ("${MODULE_NAME}" key)`
        : toSource(cwd, found.file);
    if (!result.success) {
      throw new ExtensionError('CONFIG_INVALID', {
        where,
        problems: formatIssues(result.error.issues, Object.keys(configSchema.shape)),
      });
    }
    file = result.data;
  }

  const baseDir = found === undefined ? cwd : path.dirname(found.file);
  const pluginDirs =
    overrides.pluginDirs !== undefined
      ? overrides.pluginDirs.map((dir) => path.resolve(cwd, dir))
      : (file.pluginDirs ?? ['plugins']).map((dir) => path.resolve(baseDir, dir));

  // Read every variable even when an override wins, so a bad value is never silently ignored.
  const fromEnv = {
    requestType: envValue(env, 'REQUEST_TYPE', requestTypeSchema),
    useExtensions: envBoolean(env, 'USE_EXTENSIONS'),
    fallbackEnabled: envBoolean(env, 'EXTENSION_FALLBACK_ENABLED'),
    logLevel: envValue(env, 'LOG_LEVEL', z.enum(LOG_LEVELS)),
  };
  return {
    cwd,
    file: found?.file,
    ...(found === undefined && options.configFile === undefined ? { search: await describeSearch(cwd) } : {}),
    pluginDirs,
    pluginDirsNamed: overrides.pluginDirs !== undefined || file.pluginDirs !== undefined,
    requestType: {
      ...(fromEnv.requestType === undefined ? {} : { env: fromEnv.requestType }),
      ...(file.requestType === undefined ? {} : { config: file.requestType }),
    },
    useExtensions: overrides.useExtensions ?? fromEnv.useExtensions ?? file.useExtensions ?? true,
    fallbackEnabled: overrides.fallbackEnabled ?? fromEnv.fallbackEnabled ?? file.fallbackEnabled ?? false,
    strict: overrides.strict ?? file.strict ?? false,
    disabled: file.disabled ?? [],
    logLevel: overrides.logLevel ?? fromEnv.logLevel ?? file.logLevel ?? 'info',
    cache: (overrides.cache ?? file.cache ?? true) ? path.resolve(baseDir, file.cacheDir ?? DEFAULT_CACHE_DIR) : false,
    slowPluginMs: file.slowPluginMs ?? 500,
    importTimeoutMs: file.importTimeoutMs ?? 10_000,
    maxEntryBytes: file.maxEntryBytes ?? 1024 * 1024,
    permissions: file.permissions ?? 'strict',
    probe: file.probe ?? false,
    allowUnpinned: file.allowUnpinned ?? false,
    ...(file.asyncInputLocation === undefined ? {} : { asyncInputLocation: file.asyncInputLocation }),
    lockFile: path.join(baseDir, LOCK_FILE),
  };
}
