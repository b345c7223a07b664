/** Small statistics and formatting helpers for the benchmark. */

/** The q-quantile of sorted numbers, linearly interpolated (R's type 7, numpy's default). */
function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** Median, quartiles (q1, q3), min and max of a non-empty list of numbers. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    median,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    n: sorted.length,
  };
}

const round = (x, digits) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** `412 [398–431]` (ms, no decimals above 100, one below). */
export function fmtMs(s) {
  if (s === undefined) return 'n/a';
  const d = s.median >= 100 ? 0 : 1;
  return `${round(s.median, d).toFixed(d)} [${round(s.min, d).toFixed(d)}–${round(s.max, d).toFixed(d)}]`;
}

/** `98 (IQR 95–101, 91–130)`: median, interquartile range, then min–max (ms, as fmtMs rounds). */
export function fmtMsIqr(s) {
  if (s === undefined) return 'n/a';
  const d = s.median >= 100 ? 0 : 1;
  const f = (x) => round(x, d).toFixed(d);
  return `${f(s.median)} (IQR ${f(s.q1)}–${f(s.q3)}, ${f(s.min)}–${f(s.max)})`;
}

/** `1.07×` */
export const fmtRatio = (r) => (r === undefined || !Number.isFinite(r) ? 'n/a' : `${r.toFixed(2)}×`);

/** Microseconds, e.g. `41.2`. */
export const fmtUs = (us) => (us === undefined ? 'n/a' : us >= 100 ? us.toFixed(0) : us.toFixed(1));

/** MiB from KiB, one decimal. */
export const fmtMb = (kib) => (kib === undefined ? 'n/a' : (kib / 1024).toFixed(1));

/** A Markdown table with padded columns (readable as plain text too). */
export function markdownTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(3, ...all.map((r) => String(r[c] ?? '').length)));
  const line = (r) => `| ${r.map((cell, c) => String(cell ?? '').padEnd(widths[c])).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}
