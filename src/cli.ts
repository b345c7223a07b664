/**
 * The `osml-extensions` command: argv → library calls → output and exit code. The only place
 * that decides exit codes (0 ok, 1 failure, 2 usage). Logs go to stderr; stdout holds results,
 * and with `--json` exactly one JSON document.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDeps } from './builtins.js';
import { loadConfig } from './config.js';
import { ExtensionError, describeThrown, isExtensionError } from './errors.js';
import { loadExtensions, type Extensions } from './extensions.js';
import { createLogger } from './log.js';
import { closest } from './suggest.js';
import { LOG_LEVELS, type LogLevel } from './types.js';
import { formatList, formatSelection, listDocument, selectionDocument } from './cli-output.js';

const COMMANDS = ['list', 'check', 'resolve', 'start'] as const;
type Command = (typeof COMMANDS)[number];

const HELP = `Usage: osml-extensions <command> [options]

Commands:
  list       Show every registered handler and every refused plugin
  check      Like list; exits 1 if a plugin was refused or a request type is incomplete (for CI)
  resolve    Show the handler pair in force and why it was chosen
  start      Boot, resolve, construct the pair with the default services, log ready

Options:
  --config FILE          Use this config file instead of searching for one
  --plugins DIR          Plugin root; repeat for several (replaces \`pluginDirs\`)
  --cwd DIR              Working directory (config search, relative paths) [default: .]
  --log-level LEVEL      ${LOG_LEVELS.join('|')} [default: info]
  --strict               Fail if any plugin is refused
  --json                 Print exactly one JSON document on stdout
  --request-type TYPE    (resolve, start) Request type to use
  --endpoint-type TYPE   (resolve, start) Endpoint type of the model, e.g. sagemaker
  -h, --help             Show this help
  -v, --version          Show the version

Examples:
  osml-extensions list
  osml-extensions check --json
  REQUEST_TYPE=sm_endpoint osml-extensions resolve --endpoint-type sagemaker
`;

const OPTIONS = {
  config: { type: 'string' },
  plugins: { type: 'string', multiple: true },
  cwd: { type: 'string' },
  'log-level': { type: 'string' },
  strict: { type: 'boolean' },
  json: { type: 'boolean' },
  'request-type': { type: 'string' },
  'endpoint-type': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new ExtensionError('USAGE_INVALID', { problem: describeThrown(cause).replace(/^TypeError[^:]*: /, '') }, { cause });
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help === true || values.version === true) return { values, command: undefined };
  if (command === undefined) throw new ExtensionError('USAGE_INVALID', { problem: 'No command given' });
  if (!(COMMANDS as readonly string[]).includes(command)) {
    const hint = closest(command, COMMANDS);
    throw new ExtensionError('USAGE_INVALID', { problem: `Unknown command "${command}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}` });
  }
  if (extra.length > 0) throw new ExtensionError('USAGE_INVALID', { problem: `Unexpected argument "${extra[0]}"` });
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ExtensionError('USAGE_INVALID', { problem: `\`--log-level\` must be one of ${LOG_LEVELS.join(', ')}, received "${level}"` });
  }
  return { values, command: command as Command };
}

/** Run one command; returns the exit code. Exported for tests; the bin calls it with process.argv. */
export async function main(argv: string[], io: { stdout: (text: string) => void } = { stdout: (t) => process.stdout.write(t) }): Promise<number> {
  const json = argv.includes('--json');
  const fail = (error: unknown, exitCode: number): number => {
    const code = isExtensionError(error) ? error.code : 'INTERNAL';
    const message = isExtensionError(error) ? error.message : describeThrown(error);
    if (json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    else process.stderr.write(`osml-extensions: ${code}: ${message}\n`);
    return exitCode;
  };

  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    return fail(error, 2);
  }
  const { values, command } = args;
  if (values.version === true) {
    io.stdout(`${(createRequire(import.meta.url)('../package.json') as { version: string }).version}\n`);
    return 0;
  }
  if (values.help === true || command === undefined) {
    io.stdout(HELP);
    return 0;
  }

  try {
    const cwd = path.resolve(values.cwd ?? '.');
    const config = await loadConfig({
      cwd,
      ...(values.config === undefined ? {} : { configFile: values.config }),
      overrides: {
        ...(values.plugins === undefined ? {} : { pluginDirs: values.plugins }),
        ...(values.strict === undefined ? {} : { strict: values.strict }),
        ...(values['log-level'] === undefined ? {} : { logLevel: values['log-level'] as LogLevel }),
      },
    });
    const logger = createLogger({ level: config.logLevel });
    const ext = await loadExtensions({ config, logger });
    return await run(command, ext, values, io, logger);
  } catch (error) {
    return fail(error, 1);
  }
}

async function run(command: Command, ext: Extensions, values: ReturnType<typeof parse>['values'], io: { stdout: (text: string) => void }, logger: ReturnType<typeof createLogger>): Promise<number> {
  const errors = ext.rejected.filter((r) => r.level === 'error');
  const strictFailure = ext.config.strict && errors.length > 0;
  if (command === 'list' || command === 'check') {
    const doc = listDocument(ext);
    io.stdout(values.json === true ? `${JSON.stringify(doc)}\n` : formatList(doc));
    const incomplete = Object.values(doc.requestTypes).some((t) => !t.complete);
    return strictFailure || (command === 'check' && (errors.length > 0 || incomplete)) ? 1 : 0;
  }
  if (strictFailure) throw new ExtensionError('PLUGINS_REJECTED', { sources: errors.map((r) => r.source) });
  const options = { requestType: values['request-type'], endpoint: values['endpoint-type'] };
  if (command === 'resolve') {
    const selection = ext.resolve(options);
    io.stdout(values.json === true ? `${JSON.stringify(selectionDocument(selection))}\n` : formatSelection(selection));
    return 0;
  }
  const pair = await ext.start({ ...options, deps: defaultDeps(logger) });
  logger.info({ event: 'ready', requestType: pair.selection.requestType, region: pair.selection.region.name, image: pair.selection.image.name }, 'ready');
  io.stdout(values.json === true ? `${JSON.stringify(selectionDocument(pair.selection))}\n` : formatSelection(pair.selection));
  return 0;
}
