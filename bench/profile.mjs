#!/usr/bin/env node
/**
 * Where a `node --cpu-prof` profile spends its time: self time by function and by package or
 * file, and inclusive time of the heaviest frames. Used by the run and start-up benchmarks'
 * `--profile` option; also runs on its own: `node bench/profile.mjs FILE.cpuprofile [top]`.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A short name for a script URL: `nm:<package>`, `dist/<file>`, `node:<module>` or `(native)`. */
function where(url, functionName) {
  if (!url) return `(${functionName || 'native'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `nm:${nm[1]}`;
  const dist = /\/dist\/(.*)$/.exec(url);
  if (dist) return `dist/${dist[1]}`;
  return url.replace(/^file:\/\/.*\/(bench\/)/, '$1');
}

/**
 * Summarize a parsed .cpuprofile.
 * @returns {{ totalMs: number, self: [string, number][], byFile: [string, number][], inclusive: [string, number][] }}
 */
export function summarizeProfile(profile, top = 20) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeById = new Map();
  profile.samples.forEach((id, i) => timeById.set(id, (timeById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const label = (n) => {
    const { functionName, url, lineNumber } = n.callFrame;
    return `${functionName || '(anonymous)'} ${where(url, functionName)}${url ? `:${lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  const byFile = new Map();
  const inclusive = new Map();
  let totalMs = 0;
  for (const [id, ms] of timeById) {
    const node = nodes.get(id);
    totalMs += ms;
    self.set(label(node), (self.get(label(node)) ?? 0) + ms);
    const file = where(node.callFrame.url, node.callFrame.functionName);
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
    const seen = new Set();
    for (let p = id; p !== undefined; p = parent.get(p)) {
      const key = label(nodes.get(p));
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  const sorted = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { totalMs, self: sorted(self, top), byFile: sorted(byFile, top), inclusive: sorted(inclusive, top * 2) };
}

/** The summary as text, one `ms  %  name` line per entry. */
export function formatProfile(summary, title = 'profile') {
  const line = ([name, ms]) =>
    `  ${ms.toFixed(0).padStart(6)} ms ${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%  ${name}`;
  return [
    `${title}: ${summary.totalMs.toFixed(0)} ms of samples`,
    ' self time by function:',
    ...summary.self.map(line),
    ' self time by package / file:',
    ...summary.byFile.map(line),
    ' inclusive time (heaviest frames):',
    ...summary.inclusive.map(line),
  ].join('\n');
}

const isMain = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/profile.mjs FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), Number(top ?? 20));
  process.stdout.write(`${formatProfile(summary, file)}\n`);
}
