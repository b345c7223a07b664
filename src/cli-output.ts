/**
 * What the CLI prints: the exact JSON documents, and their readable forms for a terminal.
 */
import type { Extensions } from './extensions.js';
import type { Selection } from './resolve.js';

/** `list`/`check --json`. */
export interface ListDocument {
  handlers: { name: string; requestType: string; handlerType: string; source: string; description?: string; supportedEndpoints?: string[] }[];
  rejected: { source: string; code: string; message: string }[];
  requestTypes: Record<string, { complete: boolean }>;
}

/** `resolve --json` and `start --json`. */
export interface SelectionDocument {
  requestType: string;
  source: string;
  fallback: boolean;
  fallbackReason?: string;
  region: { name: string; source: string };
  image: { name: string; source: string };
}

/** Build the list document; warnings (a missing default root) are logged, not listed. */
export function listDocument(ext: Extensions): ListDocument {
  return {
    handlers: ext.registry.list().map((h) => ({
      name: h.name,
      requestType: h.requestType,
      handlerType: h.handlerType,
      source: h.source,
      ...(h.description === undefined ? {} : { description: h.description }),
      ...(h.supportedEndpoints === undefined ? {} : { supportedEndpoints: h.supportedEndpoints }),
    })),
    rejected: ext.rejected.filter((r) => r.level === 'error').map((r) => ({ source: r.source, code: r.code, message: r.message })),
    requestTypes: Object.fromEntries(ext.registry.requestTypes().map((t) => [t, { complete: ext.registry.isComplete(t) }])),
  };
}

/** Build the selection document. */
export function selectionDocument(s: Selection): SelectionDocument {
  return {
    requestType: s.requestType,
    source: s.source,
    fallback: s.fallback,
    ...(s.fallbackReason === undefined ? {} : { fallbackReason: s.fallbackReason }),
    region: { name: s.region.name, source: s.region.source },
    image: { name: s.image.name, source: s.image.source },
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ')).join('\n');
}

/** The list as aligned text. */
export function formatList(doc: ListDocument): string {
  const out = [table([['NAME', 'REQUEST TYPE', 'HANDLER TYPE', 'SOURCE'], ...doc.handlers.map((h) => [h.name, h.requestType, h.handlerType, h.source])])];
  const types = Object.entries(doc.requestTypes).map(([t, { complete }]) => `${t}${complete ? '' : ' (incomplete)'}`);
  out.push('', `Request types: ${types.join(', ')}`);
  if (doc.rejected.length > 0) {
    out.push('', `Refused (${doc.rejected.length}):`, ...doc.rejected.map((r) => `  ${r.code}  ${r.source}\n    ${r.message}`));
  }
  return `${out.join('\n')}\n`;
}

/** The selection as text. */
export function formatSelection(s: Selection): string {
  const lines = [
    `request type: ${s.requestType} (from ${s.source})${s.fallback ? ' [fallback]' : ''}`,
    `region:       ${s.region.name} (${s.region.source})`,
    `image:        ${s.image.name} (${s.image.source})`,
  ];
  if (s.fallbackReason !== undefined) lines.push(`reason:       ${s.fallbackReason}`);
  return `${lines.join('\n')}\n`;
}
