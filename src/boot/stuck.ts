/**
 * Plugin entries whose import never settled, for the life of the process.
 *
 * This is process-wide on purpose: it mirrors Node's own module map, which is process-wide. A module
 * stuck in top-level await stays stuck there, so importing it again would only hang again; the
 * loader refuses it at once instead, and the probe records here what it saw hang.
 */

const stuck = new Map<string, string>();

/**
 * A stuck module stays stuck only for its own URL: a reload generation imports a fresh copy (the
 * file may have been fixed), so the key includes it.
 */
const keyOf = (entry: string, reload: string | undefined): string =>
  reload === undefined ? entry : `${entry}?${reload}`;

/** Never import this entry (in this reload generation) again; `how` says why, for the message. */
export function markStuck(entry: string, how: string, reload?: string): void {
  stuck.set(keyOf(entry, reload), how);
}

/** True when the entry hung before in this process (and reload generation). */
export function isStuck(entry: string, reload?: string): boolean {
  return stuck.has(keyOf(entry, reload));
}

/** Why the entry was marked stuck, if it was. */
export function stuckReason(entry: string, reload?: string): string | undefined {
  return stuck.get(keyOf(entry, reload));
}
