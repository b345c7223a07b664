/**
 * The package's own version, read once from its package.json (two levels above `dist/shared/`).
 */
import { createRequire } from 'node:module';

/** The installed osml-extensions version, e.g. `0.1.0`. */
export const PACKAGE_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;
