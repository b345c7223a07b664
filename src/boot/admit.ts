/**
 * Admission: the one path from discovered candidates to their handlers. Open the lock, vet every
 * candidate (nothing is imported before it passes), hand the verified files to the load hook, then
 * take each plugin from the manifest cache or import it. The host's boot and the testing helpers
 * both come through here, so a plugin refused at boot is refused in its own test too.
 */
import path from 'node:path';
import type { ResolvedConfig } from '../config.js';
import { ExtensionError, toRejection, type Rejection } from '../shared/errors.js';
import { toSource } from '../shared/paths.js';
import type { Logger } from '../shared/types.js';
import { acquirePlugins, type AcquiredPlugin } from './acquire.js';
import type { PluginCandidate } from './discover.js';
import type { LoadOptions } from './load.js';
import { Lock } from './lock.js';
import { vet } from './vet.js';

/** How to admit: the boot's logger and import settings. */
export interface AdmitOptions {
  logger: Logger;
  /** Imports in flight at once. */
  concurrency?: number;
  /** Import fresh module copies (live reload). */
  reload?: string;
  /** Report pinned folders that no candidate matched (lock drift). @default true */
  drift?: boolean;
}

/** The admitted plugins, in candidate order, and every refusal made on the way. */
export interface Admitted {
  plugins: AcquiredPlugin[];
  rejected: Rejection[];
}

/** Vet, arm the lock's load hook, then acquire (cache or import) every candidate. */
export async function admit(
  candidates: readonly PluginCandidate[],
  config: ResolvedConfig,
  options: AdmitOptions,
): Promise<Admitted> {
  const { logger } = options;
  const lock = config.useExtensions ? await Lock.open(config) : undefined;
  const vetted = await vet(candidates, config, lock, logger);
  const drift =
    options.drift === false
      ? []
      : (lock?.missing(candidates) ?? []).map((folder) => {
          const source = toSource(config.cwd, path.join(path.dirname(config.lockFile), folder));
          const detail = 'a pinned plugin folder is missing';
          const error = new ExtensionError('INTEGRITY_MISMATCH', {
            file: source,
            expected: 'pinned',
            actual: 'absent',
            detail,
          });
          return toRejection(source, error);
        });
  // Every verified file is handed to the load hook before the first import.
  await lock?.arm();
  const loadOptions: LoadOptions = {
    timeoutMs: config.importTimeoutMs,
    cwd: config.cwd,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.reload === undefined ? {} : { reload: options.reload }),
  };
  const plugins = await acquirePlugins(config, vetted.plugins, loadOptions, logger);
  return { plugins, rejected: [...vetted.rejected, ...drift] };
}
