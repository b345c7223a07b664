/**
 * Path display: sources and messages show paths relative to the working directory, with `/`.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** `abs` relative to `cwd`, with `/` separators; `.` for `cwd` itself. */
export function toSource(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

/** Rewrite absolute paths under `cwd` inside a message (a file: URL or a plain path) as relative ones. */
export function relativePaths(text: string, cwd: string): string {
  const prefix = cwd.endsWith(path.sep) ? cwd : cwd + path.sep;
  return text.split(pathToFileURL(prefix).href).join('').split(prefix).join('');
}
