#!/usr/bin/env node
/**
 * The executable: run the CLI, then exit with its code once stdout has drained, even if a
 * plugin left a timer or socket open.
 */
import { main } from './cli/main.js';

const code = await main(process.argv.slice(2));
process.stdout.write('', () => process.exit(code));
