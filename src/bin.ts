#!/usr/bin/env node
/**
 * The executable: run the CLI, then exit with its code once stdout has drained, even if a
 * plugin left a timer or socket open.
 */
import { main } from './cli/main.js';

// A plugin's stray rejection or throw (a timer set at import) must not kill the CLI before it
// prints its document: it is reported on stderr, and the run fails.
let stray = false;
const report = (what: string) => (reason: unknown) => {
  stray = true;
  const text = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  process.stderr.write(`osml-extensions: ${what} from plugin code (ignored): ${text}\n`);
};
process.on('unhandledRejection', report('an unhandled rejection'));
process.on('uncaughtException', report('an uncaught exception'));

const code = await main(process.argv.slice(2));
process.stdout.write('', () => process.exit(code === 0 && stray ? 1 : code));
