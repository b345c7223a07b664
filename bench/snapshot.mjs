/**
 * A private copy of the built CLI for the benchmark.
 *
 * `dist/` may be rebuilt while the benchmark runs (a watch build, another `npm run build`); a run
 * that measured two different builds, or a half-written one, would be meaningless. So the
 * benchmark copies `dist/` and `package.json` into its temp dir once, with a symlink to the
 * package's `node_modules` so dependencies resolve as usual, and runs that copy. The copy is taken
 * once no file in `dist/` has changed for a second and `dist/` reads the same before and after it;
 * its fingerprint goes in the results.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long dist/ must have been left alone before it is copied. */
const QUIET_MS = 1000;

/** SHA-256 over every file's relative path and bytes (sorted), the file count and newest mtime. */
export function fingerprint(dir) {
  const hash = createHash('sha256');
  let files = 0;
  let newest = 0;
  const walk = (rel) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(dir, relPath);
      const stats = statSync(abs);
      if (stats.isDirectory()) walk(relPath);
      else if (stats.isFile()) {
        hash.update(`${relPath}\0`).update(readFileSync(abs)).update('\0');
        files += 1;
        newest = Math.max(newest, stats.mtimeMs);
      }
    }
  };
  walk('');
  return { sha256: hash.digest('hex'), files, newestMtime: new Date(newest).toISOString() };
}

/**
 * Copy `<pkgDir>/dist` and `package.json` to `<into>/` and link `<into>/node_modules`.
 * @returns {Promise<{ bin: string, dist: { sha256: string, files: number, newestMtime: string } }>}
 */
export async function snapshotBuild(pkgDir, into, attempts = 30) {
  const dist = path.join(pkgDir, 'dist');
  const copy = path.join(into, 'dist');
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const before = fingerprint(dist);
    // A file written in the last second may belong to a build still in progress: wait for quiet.
    if (Date.now() - Date.parse(before.newestMtime) < QUIET_MS) {
      await sleep(QUIET_MS);
      continue;
    }
    rmSync(copy, { recursive: true, force: true });
    cpSync(dist, copy, { recursive: true });
    const after = fingerprint(dist);
    const copied = fingerprint(copy);
    if (before.sha256 === after.sha256 && after.sha256 === copied.sha256) {
      copyFileSync(path.join(pkgDir, 'package.json'), path.join(into, 'package.json'));
      symlinkSync(path.join(pkgDir, 'node_modules'), path.join(into, 'node_modules'), 'dir');
      // The source's fingerprint: same bytes as the copy, and the build's own mtimes.
      return { bin: path.join(copy, 'bin.js'), dist: after };
    }
    await sleep(1000);
  }
  throw new Error(`dist/ kept changing while it was being copied (${attempts} attempts): is a build running?`);
}
