/**
 * Synthetic plugin trees for the benchmark.
 *
 * One size N lives in its own folder `<tempRoot>/n<N>/`, which is also the CLI's `--cwd`:
 *
 *   n1000/
 *     package.json        ← stops the config search here (the temp dir has no config file)
 *     floor.mjs           ← the floor script: imports every entry, nothing else
 *     plugins/p00001/index.mjs … plugins/p01000/index.mjs
 *     node_modules/.cache/osml-extensions/   ← created by the CLI's manifest cache, if any
 *
 * Plugin files and folders get an mtime one hour in the past, as an installed plugin tree would
 * have. Freshly written files would otherwise fall in the manifest cache's "racily clean" window
 * (files modified within 2 s of the cache write are re-hashed on every boot), which would make
 * the cached figures depend on how fast the warming run followed the generation.
 *
 * Each entry exports a default array of two plain manifests for request type `t00001` etc. It
 * imports nothing (in particular not 'osml-extensions': the temp dir is outside the package).
 */
import { mkdirSync, mkdtempSync, realpathSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Temp root under the real path of os.tmpdir(), prefix `osml-ext-bench-`. */
export function makeTempRoot() {
  return mkdtempSync(path.join(realpathSync(os.tmpdir()), 'osml-ext-bench-'));
}

const id = (i) => String(i).padStart(5, '0');

/** The source of plugin number i (1-based). */
export function pluginSource(i) {
  const n = id(i);
  return `// Synthetic benchmark plugin ${n}: two handlers for request type t${n}.
class Region${n} {
  async processRegionRequest(request) {
    return { type: 'FeatureCollection', features: [], request };
  }
}

class Image${n} {
  async processImageRequest(request) {
    return { type: 'FeatureCollection', features: [], request };
  }
}

export default [
  { requestType: 't${n}', handlerType: 'REGION_REQUEST_HANDLER', name: 'p${n}-region', handler: Region${n} },
  { requestType: 't${n}', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'p${n}-image', handler: Image${n} },
];
`;
}

/** The floor script: a precomputed list of entries, all imported at once, nothing else. */
export function floorSource(entries) {
  return `// Benchmark floor: import every plugin entry and do nothing else.
import { pathToFileURL } from 'node:url';

const files = ${JSON.stringify(entries)};
const modules = await Promise.all(files.map((f) => import(pathToFileURL(f).href)));
process.stdout.write(\`\${modules.length}\\n\`);
`;
}

/**
 * Write the tree for N plugins. Returns the paths the runner needs.
 * @returns {{ n: number, cwd: string, pluginRoot: string, floorScript: string, cacheDir: string }}
 */
export function generate(tempRoot, n) {
  if (n > 99999) throw new Error(`N=${n}: plugin folder names have 5 digits`);
  const cwd = path.join(tempRoot, `n${n}`);
  const pluginRoot = path.join(cwd, 'plugins');
  mkdirSync(pluginRoot, { recursive: true });
  writeFileSync(
    path.join(cwd, 'package.json'),
    `${JSON.stringify({ name: `osml-ext-bench-n${n}`, private: true }, null, 2)}\n`,
  );
  const entries = [];
  const dirs = [];
  for (let i = 1; i <= n; i++) {
    const dir = path.join(pluginRoot, `p${id(i)}`);
    mkdirSync(dir);
    const entry = path.join(dir, 'index.mjs');
    writeFileSync(entry, pluginSource(i));
    entries.push(entry);
    dirs.push(dir);
  }
  const past = new Date(Date.now() - 3600_000);
  for (const file of [...entries, ...dirs, pluginRoot]) utimesSync(file, past, past);
  const floorScript = path.join(cwd, 'floor.mjs');
  writeFileSync(floorScript, floorSource(entries));
  return { n, cwd, pluginRoot, floorScript, cacheDir: path.join(cwd, 'node_modules', '.cache', 'osml-extensions') };
}
