/**
 * What the CLI prints: the exact JSON documents, and their readable forms for a terminal.
 * Colours only on a terminal, and never when `NO_COLOR` is set (to any value).
 */
import type { Explanation, SlotCandidate, SlotName } from '../select/explain.js';
import type { Extensions } from '../host/extensions.js';
import type { Selection } from '../select/resolve.js';

/** `list`/`check --json`. */
export interface ListDocument {
  handlers: {
    name: string;
    requestType: string;
    handlerType: string;
    source: string;
    description?: string;
    supportedEndpoints?: string[];
  }[];
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

/** Text styles for terminal output; every one is the identity without colours. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
}

const identity = (text: string): string => text;
/** No styling. */
export const plainStyle: Style = { bold: identity, dim: identity, red: identity, yellow: identity, green: identity };

// Plain ANSI rather than util.styleText: from Node 22 styleText checks process.stdout itself,
// which is wrong when the caller (or a test) decides where the text goes.
const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;
/** ANSI styling. */
export const ansiStyle: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  yellow: sgr(33, 39),
  green: sgr(32, 39),
};

/** Colours when stdout is a terminal and `NO_COLOR` is not set (to any value, even empty). */
export function styleFor(isTTY: boolean, env: Record<string, string | undefined> = process.env): Style {
  return isTTY && env['NO_COLOR'] === undefined ? ansiStyle : plainStyle;
}

/**
 * Control characters (ESC, OSC, C1, line separators) in a value a plugin supplied, shown as
 * `\\xNN` / `\\uNNNN` escapes, so a name, path or message can never drive the terminal (clear the
 * screen, set its title). Newlines and tabs stay. The JSON documents escape them already.
 */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A copy of plain data (objects, arrays, strings) with every string escaped; other values kept as they are. */
export function escapeDeep<T>(value: T): T {
  if (typeof value === 'string') return escapeControls(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => escapeDeep(v)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeControls(k), escapeDeep(v)])) as T;
  }
  return value;
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
    rejected: ext.rejected
      .filter((r) => r.level === 'error')
      .map((r) => ({ source: r.source, code: r.code, message: r.message })),
    requestTypes: Object.fromEntries(
      ext.registry.requestTypes().map((t) => [t, { complete: ext.registry.isComplete(t) }]),
    ),
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

/** A table cell: its text, and how to paint it once padded (so colours never skew widths). */
type Cell = string | { text: string; paint: (text: string) => string };

function table(rows: Cell[][]): string {
  const text = (cell: Cell | undefined): string =>
    cell === undefined ? '' : typeof cell === 'string' ? cell : cell.text;
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => text(r[col]).length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, col) => {
          const padded = col === r.length - 1 ? text(cell) : text(cell).padEnd(widths[col] ?? 0);
          return typeof cell === 'string' ? padded : cell.paint(padded);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The list as aligned plain text (stdout is not a terminal). */
export function formatList(unsafe: ListDocument): string {
  const doc = escapeDeep(unsafe);
  const out = [
    table([
      ['NAME', 'REQUEST TYPE', 'HANDLER TYPE', 'SOURCE'],
      ...doc.handlers.map((h) => [h.name, h.requestType, h.handlerType, h.source]),
    ]),
  ];
  const types = Object.entries(doc.requestTypes).map(([t, { complete }]) => `${t}${complete ? '' : ' (incomplete)'}`);
  out.push('', `Request types: ${types.join(', ')}`);
  if (doc.rejected.length > 0) {
    out.push(
      '',
      `Refused (${doc.rejected.length}):`,
      ...doc.rejected.map((r) => `  ${r.code}  ${r.source}\n    ${r.message}`),
    );
  }
  return `${out.join('\n')}\n`;
}

const SHORT_SLOT: Record<string, string> = { REGION_REQUEST_HANDLER: 'region', IMAGE_REQUEST_HANDLER: 'image' };

/**
 * The list as a table for a terminal: one block per request type (region, then image), an empty
 * slot shown as missing; incomplete types in yellow, refusal codes in red, headers in bold.
 */
export function formatListTable(unsafe: ListDocument, style: Style): string {
  const doc = escapeDeep(unsafe);
  const header: Cell[] = ['REQUEST TYPE', 'SLOT', 'NAME', 'SOURCE', 'ENDPOINTS'].map((h) => ({
    text: h,
    paint: style.bold,
  }));
  const rows: Cell[][] = [header];
  for (const [requestType, { complete }] of Object.entries(doc.requestTypes)) {
    const typeCell: Cell = complete ? requestType : { text: `${requestType} (incomplete)`, paint: style.yellow };
    ['REGION_REQUEST_HANDLER', 'IMAGE_REQUEST_HANDLER'].forEach((handlerType, i) => {
      const h = doc.handlers.find((x) => x.requestType === requestType && x.handlerType === handlerType);
      const first = i === 0 ? typeCell : '';
      const slot = SHORT_SLOT[handlerType] ?? handlerType;
      if (h === undefined)
        rows.push([first, { text: slot, paint: style.yellow }, { text: '(missing)', paint: style.yellow }, '', '']);
      else rows.push([first, slot, h.name, h.source, h.supportedEndpoints?.join(', ') || style.dim('any')]);
    });
  }
  const out = [table(rows)];
  if (doc.rejected.length > 0) {
    out.push(
      '',
      style.bold(`Refused (${doc.rejected.length}):`),
      ...doc.rejected.map((r) => `  ${style.red(r.code)}  ${r.source}\n    ${r.message}`),
    );
  }
  return `${out.join('\n')}\n`;
}

/** The selection as text. */
export function formatSelection(selection: Selection, style: Style = plainStyle): string {
  const s = escapeDeep(selectionDocument(selection));
  const lines = [
    `request type: ${s.requestType} (from ${s.source})${s.fallback ? ` ${style.yellow('[fallback]')}` : ''}`,
    `region:       ${s.region.name} (${s.region.source})`,
    `image:        ${s.image.name} (${s.image.source})`,
  ];
  if (s.fallbackReason !== undefined) lines.push(`reason:       ${s.fallbackReason}`);
  return `${lines.join('\n')}\n`;
}

/** How the request type's source reads in a sentence. */
function describeOrigin(o: Explanation['from']): string {
  switch (o.source) {
    case 'argument':
      return 'the argument (--request-type)';
    case 'env':
      return 'the environment variable REQUEST_TYPE';
    case 'config':
      return `the config file ${o.file ?? ''} (requestType)`.replace('  ', ' ');
    case 'endpoint':
      return `the endpoint type "${o.endpoint ?? ''}": ${o.rule ?? ''}`;
    case 'default':
      return 'the default (nothing else named a request type)';
  }
}

/** An origin in a few words, for the inputs that lost. */
function shortOrigin(o: Explanation['from']): string {
  if (o.source === 'argument') return '--request-type';
  if (o.source === 'env') return 'REQUEST_TYPE';
  if (o.source === 'config') return `requestType in ${o.file ?? 'the config'}`;
  if (o.source === 'endpoint') return `endpoint type "${o.endpoint ?? ''}"`;
  return 'the default';
}

const LABEL_WIDTH = 11;
const CANDIDATE_LABEL: Record<SlotCandidate['status'], string> = {
  'duplicate-slot': 'duplicate',
  'endpoint-unsupported': 'endpoint',
  disabled: 'disabled',
  refused: 'refused',
  'other-request-type': 'other',
};

function formatSlot(e: Explanation, slot: SlotName, style: Style): string[] {
  const s = e.slots[slot];
  const lines = [style.bold(`${slot[0]?.toUpperCase()}${slot.slice(1)} slot (${e.requestType}, ${s.handlerType})`)];
  const why = s.candidates.some((c) => c.status === 'endpoint-unsupported')
    ? `its handler does not support endpoint type "${e.endpoint ?? ''}"`
    : 'no handler is registered in this slot';
  const label = (text: string, paint: (t: string) => string): string => paint(`[${text}]`.padEnd(LABEL_WIDTH));
  const indent = ' '.repeat(LABEL_WIDTH + 3);
  if (s.winner === null) lines.push(`  ${label('none', style.red)} ${why}`);
  // When no pair was chosen (a refused plugin declared the type, say), the holder of the slot
  // did not win anything: it only holds the slot.
  else if (e.status === 'failed')
    lines.push(
      `  ${label('holds', style.yellow)} ${s.winner.name}  ${s.winner.source}`,
      `${indent}holds the slot, but no pair was chosen (see the result below)`,
    );
  else
    lines.push(`  ${label('winner', style.green)} ${s.winner.name}  ${s.winner.source}`, `${indent}${s.winner.reason}`);
  const others = s.candidates.filter((c) => c.status === 'other-request-type');
  for (const c of s.candidates) {
    if (c.status === 'other-request-type') continue;
    const code = c.code === undefined ? '' : `${style.red(c.code)}: `;
    lines.push(
      `  ${label(CANDIDATE_LABEL[c.status], style.yellow)} ${c.name === undefined ? '' : `${c.name}  `}${c.source}`,
      `${indent}${code}${c.reason}`,
    );
  }
  if (others.length > 0)
    lines.push(
      `  ${label('other', style.dim)} ${style.dim(`other request types: ${others.map((c) => `${c.name ?? '?'} (${c.requestType ?? '?'})`).join(', ')}`)}`,
    );
  return lines;
}

/** The explanation as text: the request type and its source, each slot, warnings, the outcome. */
export function formatExplanation(unsafe: Explanation, style: Style = plainStyle): string {
  const e = escapeDeep(unsafe);
  const lines = [`${style.bold('Request type:')} ${e.requestType}`, `  from ${describeOrigin(e.from)}`];
  for (const o of e.overridden) lines.push(`  ${style.dim(`overrides ${shortOrigin(o)} → ${o.requestType}`)}`);
  if (e.endpoint !== undefined) lines.push(`${style.bold('Endpoint type:')} ${e.endpoint}`);
  lines.push('', ...formatSlot(e, 'region', style), '', ...formatSlot(e, 'image', style));
  if (e.disabledUnknown.length > 0) {
    lines.push('', style.bold('Warnings:'));
    for (const u of e.disabledUnknown) {
      lines.push(
        `  \`disabled\` names "${u.name}", which matches no handler${u.didYouMean === undefined ? '' : `; did you mean "${u.didYouMean}"?`}`,
      );
    }
  }
  lines.push('');
  if (e.error !== undefined) {
    lines.push(`${style.bold('Error:')} ${style.red(e.error.code)}: ${e.error.message}`);
    if (e.error.didYouMean !== undefined && !e.error.message.includes(`"${e.error.didYouMean}"`))
      lines.push(`  Did you mean "${e.error.didYouMean}"?`);
  }
  const sel = e.selection;
  if (e.status === 'failed' || sel === undefined)
    lines.push(
      `${style.bold('Result:')} ${style.red('no handler pair')} (fallback is off; set EXTENSION_FALLBACK_ENABLED=true to use the built-in pair instead)`,
    );
  else if (e.status === 'fallback')
    lines.push(
      `${style.bold('Result:')} ${style.yellow('fallback')} to the built-in pair: ${sel.region.name} + ${sel.image.name}`,
    );
  else lines.push(`${style.bold('Result:')} ${style.green(`${sel.region.name} + ${sel.image.name}`)}`);
  return `${lines.join('\n')}\n`;
}
