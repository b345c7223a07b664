/**
 * The `osml-extensions` command: argv → library calls → output and exit code. The only place
 * that decides exit codes (0 ok, 1 failure, 2 usage). Logs go to stderr; stdout holds results,
 * and with `--json` exactly one JSON document. Each command lives in src/commands/.
 */
import { PACKAGE_VERSION } from '../shared/version.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { explain } from './commands/explain.js';
import { check, list } from './commands/list.js';
import { resolve, start } from './commands/resolve.js';
import { init } from './commands/init.js';
import { schema } from './commands/schema.js';
import { lock } from './commands/lock.js';
import { run } from './commands/run.js';
import {
  GLOBAL_OPTIONS,
  globalsOf,
  stringOption,
  type Command,
  type CommandContext,
  type OptionValues,
} from './commands/command.js';
import { ExtensionError, describeThrown, isExtensionError } from '../shared/errors.js';
import { closest } from '../shared/suggest.js';
import { LOG_LEVELS, type LogLevel } from '../shared/types.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [list, check, resolve, explain, run, start, lock, init, schema];

const GLOBAL_HELP: Record<keyof typeof GLOBAL_OPTIONS, string> = {
  config: 'Use this config file instead of searching for one',
  plugins: 'Plugin root; repeat for several (replaces `pluginDirs`)',
  cwd: 'Working directory (config search, relative paths) [default: .]',
  'log-level': `${LOG_LEVELS.join('|')} [default: info]`,
  strict: 'Fail if any plugin is refused',
  json: 'Print exactly one JSON document on stdout',
  'no-cache': 'Import every plugin; neither read nor write the manifest cache',
  help: 'Show help',
  version: 'Show the version',
};

function optionLines(
  options: Record<string, { type: string; short?: string }>,
  help: Record<string, string>,
): string[] {
  return Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short === undefined ? '' : `-${spec.short}, `}--${name}${spec.type === 'string' ? ` ${name === 'config' ? 'FILE' : name === 'plugins' || name === 'cwd' ? 'DIR' : 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(26)}${help[name] ?? ''}`;
  });
}

/** The general help, or one command's. */
export function helpText(command?: Command): string {
  if (command === undefined) {
    return [
      'Usage: osml-extensions <command> [options]',
      '',
      'Commands:',
      ...COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`),
      '',
      'Options:',
      ...optionLines(GLOBAL_OPTIONS, GLOBAL_HELP),
      '',
      'Examples:',
      ...COMMANDS.map((c) => `  ${c.examples[0] ?? ''}`),
      '',
      'Run `osml-extensions <command> --help` for a command.',
      '',
    ].join('\n');
  }
  return [
    `Usage: osml-extensions ${command.usage}`,
    '',
    command.summary,
    '',
    'Options:',
    ...optionLines(command.options as Record<string, { type: string }>, command.optionHelp),
    ...optionLines(globalsOf(command), GLOBAL_HELP),
    '',
    'Examples:',
    ...command.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

const usage = (problem: string, cause?: unknown) => new ExtensionError('USAGE_INVALID', { problem }, { cause });

/** Find the command, then parse its options strictly (unknown flags are usage errors). */
function parse(argv: string[]): { command: Command | undefined; values: OptionValues; args: string[] } {
  // A lenient pass finds the command name even after global flags that take values (`--cwd x list`).
  const name = parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: false, allowPositionals: true }).positionals[0];
  const command = COMMANDS.find((c) => c.name === name);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: command === undefined ? GLOBAL_OPTIONS : { ...globalsOf(command), ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    const unknown = /Unknown option '([^']+)'/.exec(describeThrown(cause));
    const known = Object.keys(command === undefined ? GLOBAL_OPTIONS : { ...globalsOf(command), ...command.options });
    const hint = unknown === null ? undefined : closest((unknown[1] ?? '').replace(/^-+/, ''), known);
    const problem = unknown
      ? `Unknown option "${unknown[1]}"${command ? ` for \`${command.name}\`` : ''}${hint === undefined ? '' : ` (did you mean "--${hint}"?)`}`
      : describeThrown(cause)
          .replace(/^TypeError[^:]*: /, '')
          .replace(/\.$/, '');
    throw usage(problem, cause);
  }
  const values = parsed.values as OptionValues;
  if (values['help'] === true || values['version'] === true) return { command, values, args: [] };
  if (name === undefined) throw usage('No command given');
  if (command === undefined) {
    const hint = closest(
      name,
      COMMANDS.map((c) => c.name),
    );
    throw usage(`Unknown command "${name}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
  }
  const args = parsed.positionals.slice(1);
  if (args.length > (command.maxArgs ?? 0))
    throw usage(`Unexpected argument "${args[command.maxArgs ?? 0]}" for \`${command.name}\``);
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(level)) {
    throw usage(`\`--log-level\` must be one of ${LOG_LEVELS.join(', ')}, received "${String(level)}"`);
  }
  return { command, values, args };
}

/** Levels from the most verbose down; `silent` last. */
const VERBOSITY: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * On a terminal, a command's answer is what a person reads first: boot logs at info belong to
 * `start`, so the other commands log warnings and up there, unless `--log-level` asks otherwise.
 */
function quietOnTerminal(command: Command, values: OptionValues, level: LogLevel): LogLevel {
  if (command.name === 'start' || values['log-level'] !== undefined || process.stderr.isTTY !== true) return level;
  return VERBOSITY.indexOf(level) < VERBOSITY.indexOf('warn') ? 'warn' : level;
}

/** The context a command runs in: global flags applied once. */
function context(command: Command, values: OptionValues, args: string[], io: CliIO): CommandContext {
  const plugins = values['plugins'];
  const configOptions = () => ({
    cwd: path.resolve(stringOption(values, 'cwd') ?? '.'),
    ...(typeof values['config'] === 'string' ? { configFile: values['config'] } : {}),
    overrides: {
      ...(Array.isArray(plugins) ? { pluginDirs: plugins.map(String) } : {}),
      ...(values['strict'] === true ? { strict: true } : {}),
      ...(values['no-cache'] === true ? { cache: false } : {}),
      ...(typeof values['log-level'] === 'string' ? { logLevel: values['log-level'] as LogLevel } : {}),
    },
  });
  return {
    values,
    args,
    stdout: io.stdout,
    stdoutIsTTY: io.stdoutIsTTY,
    // Loaded on demand: `--version`, `--help` and usage errors load none of zod, cosmiconfig or pino.
    loadConfig: async () => (await import('../config.js')).loadConfig(configOptions()),
    async boot() {
      const [{ loadConfig }, { loadExtensions }, { createLogger }] = await Promise.all([
        import('../config.js'),
        import('../host/extensions.js'),
        import('./log.js'),
      ]);
      const config = await loadConfig(configOptions());
      const logger = createLogger({ level: quietOnTerminal(command, values, config.logLevel) });
      return { ext: await loadExtensions({ config, logger }), logger };
    },
  };
}

/** Where the CLI writes; tests pass their own. */
export interface CliIO {
  stdout(text: string): void;
  stdoutIsTTY: boolean;
}

// Results are written through the original stdout; see the guard in main().
const writeResult = process.stdout.write.bind(process.stdout);
const processIO: CliIO = { stdout: (text) => void writeResult(text), stdoutIsTTY: process.stdout.isTTY === true };

/**
 * While a command runs, anything else written to stdout (a plugin's console.log at import or in a
 * constructor) goes to stderr, so `--json` output stays exactly one document.
 */
async function guardStdout<T>(run: () => Promise<T>): Promise<T> {
  const original = process.stdout.write;
  const exit = process.exit;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  // Plugin code that calls process.exit() (at import, in a constructor) fails where it stands
  // instead of ending the CLI with no document: a premature exit is never a success.
  process.exit = ((code?: number | string | null) => {
    throw new Error(
      `process.exit(${code ?? ''}) was called while osml-extensions was running; plugins must not exit the host`,
    );
  }) as typeof process.exit;
  try {
    return await run();
  } finally {
    process.stdout.write = original;
    process.exit = exit;
  }
}

/** Run one command; returns the exit code. The bin calls it with process.argv. */
export async function main(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const out: CliIO = { ...processIO, ...io };
  const json = argv.includes('--json');
  const fail = (error: unknown, exitCode: number): number => {
    const code = isExtensionError(error) ? error.code : 'INTERNAL';
    const message = isExtensionError(error) ? error.message : describeThrown(error);
    if (json) out.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    else process.stderr.write(`osml-extensions: ${code}: ${message}\n`);
    return exitCode;
  };

  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return fail(error, 2);
  }
  const { command, values, args } = parsed;
  if (values['version'] === true) {
    out.stdout(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  if (values['help'] === true || command === undefined) {
    out.stdout(helpText(command));
    return 0;
  }
  try {
    const run = () => command.run(context(command, values, args, out));
    return await (io.stdout === undefined ? guardStdout(run) : run());
  } catch (error) {
    return fail(error, isExtensionError(error, 'USAGE_INVALID') ? 2 : 1);
  }
}
