/**
 * Turn zod issues into `field: problem` lines a person can act on.
 */
import type { z } from 'zod';
import { closest } from './suggest.js';

/** Show a received value briefly: strings quoted, long values cut, never throws. */
export function showValue(value: unknown): string {
  try {
    if (typeof value === 'function') return value.name ? `function ${value.name}` : 'a function';
    if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    if (value === undefined) return 'nothing';
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return 'an unprintable value';
  }
}

function field(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/**
 * One `field: problem` line per problem. `knownKeys` feeds "did you mean" for unknown keys,
 * the most common mistake (`requesttype` for `requestType`).
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], knownKeys: readonly string[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = closest(key, knownKeys);
        const where = field([...issue.path, key]);
        lines.push(`${where}: unknown key${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
      }
      continue;
    }
    if (issue.code === 'invalid_type') {
      const got =
        issue.input === undefined ? 'required' : `expected ${issue.expected}, received ${showValue(issue.input)}`;
      lines.push(`${field(issue.path)}: ${got}`);
      continue;
    }
    const received = 'input' in issue && issue.code !== 'custom' ? `, received ${showValue(issue.input)}` : '';
    lines.push(`${field(issue.path)}: ${issue.message}${received}`);
  }
  return lines;
}
