/**
 * Strict mode on its own, so the CLI can apply it without loading the boot.
 */
import type { ResolvedConfig } from '../config.js';
import { ExtensionError, type Rejection } from '../shared/errors.js';

/**
 * Strict mode (`strict` config, `--strict`): throw `PLUGINS_REJECTED` if any plugin was refused.
 * Warnings (a missing default root, a vanished entry) do not count.
 */
export function assertStrict(ext: { config: Pick<ResolvedConfig, 'strict'>; rejected: readonly Rejection[] }): void {
  const refused = ext.rejected.filter((r) => r.level === 'error');
  if (ext.config.strict && refused.length > 0)
    throw new ExtensionError('PLUGINS_REJECTED', { sources: refused.map((r) => r.source) });
}
