/**
 * Path display: sources and messages show paths relative to the working directory, with `/`.
 */
import path from 'node:path';

/** `abs` relative to `cwd`, with `/` separators; `.` for `cwd` itself. */
export function toSource(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}
