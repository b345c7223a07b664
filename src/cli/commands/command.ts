/**
 * The shape of a CLI command. Each command lives in its own file under src/commands/ and is
 * listed in src/cli/main.ts; main.ts parses argv, prints help and turns errors into exit codes.
 */
import type { ParseArgsConfig } from 'node:util';
import type { ResolvedConfig } from '../../config.js';
import type { Extensions } from '../../host/extensions.js';
import type { createLogger } from '../log.js';

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string' },
  plugins: { type: 'string', multiple: true },
  cwd: { type: 'string' },
  'log-level': { type: 'string' },
  strict: { type: 'boolean' },
  json: { type: 'boolean' },
  'no-cache': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Global options every command takes; the others are taken only by commands that boot or read config. */
export const ALWAYS = ['cwd', 'log-level', 'json', 'help', 'version'] as const;

/** The name of a global option. */
export type GlobalOption = keyof typeof GLOBAL_OPTIONS;

/** Parsed option values: strings, string arrays and booleans by option name. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Where a command writes and what it can ask for. */
export interface CommandContext {
  /** Global and command options. */
  values: OptionValues;
  /** Positional arguments after the command name. */
  args: string[];
  /** Write to stdout. */
  stdout(text: string): void;
  /** Whether stdout is a terminal (tables and colours only then). */
  stdoutIsTTY: boolean;
  /** Load the config with the global flags applied. */
  loadConfig(): Promise<ResolvedConfig>;
  /** Config → discover → load → validate → register, logging to stderr. */
  boot(): Promise<{ ext: Extensions; logger: ReturnType<typeof createLogger> }>;
}

/** One CLI command. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage line after `osml-extensions`, e.g. `resolve [--request-type T]`. */
  usage: string;
  /** Example invocations for `--help`. */
  examples: string[];
  /** Options only this command takes. */
  options: NonNullable<ParseArgsConfig['options']>;
  /** Help text for each of `options`. */
  optionHelp: Record<string, string>;
  /** Global options it uses besides {@link ALWAYS}. @default config, plugins, strict, no-cache */
  globals?: readonly GlobalOption[];
  /** Maximum number of positional arguments. @default 0 */
  maxArgs?: number;
  /** Run; returns the exit code (0 ok, 1 failure). Throw an ExtensionError to fail with its code. */
  run(ctx: CommandContext): Promise<number>;
}

/** The global options a command takes, in the order help lists them. */
export function globalsOf(command: Command): Partial<typeof GLOBAL_OPTIONS> {
  const names = new Set<string>([...ALWAYS, ...(command.globals ?? ['config', 'plugins', 'strict', 'no-cache'])]);
  return Object.fromEntries(Object.entries(GLOBAL_OPTIONS).filter(([name]) => names.has(name)));
}

/** A value of a string option, if given. */
export const stringOption = (values: OptionValues, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};
