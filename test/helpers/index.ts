/**
 * Test helpers: fixture paths, per-test temp dirs (realpath of os.tmpdir()), file trees,
 * a recording logger, and running the built CLI as a subprocess.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { Logger } from '../../src/index.js';
import { isExtensionError } from '../../src/shared/errors.js';

/** The repository root. */
export const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
/** A committed fixture folder: `test/fixtures/<name>`. */
export const fixture = (name: string): string => path.join(ROOT, 'test', 'fixtures', name);
/** The built CLI. */
export const BIN = path.join(ROOT, 'dist', 'bin.js');

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * A fresh temp dir, removed after the test. The `osml-ext-` prefix matters: vitest.config.ts
 * leaves files under such dirs to Node's own loader.
 */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(await realpath(os.tmpdir()), 'osml-ext-'));
  made.push(dir);
  return dir;
}

/** Write `files` (relative path → content) under `dir`. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<string> {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return dir;
}

/** A plugin entry exporting one complete pair for `requestType`, as plain objects. */
export function pairPlugin(requestType: string, prefix = requestType.replace(/_/g, '-'), extra = ''): string {
  return `
class Region { constructor(deps) { this.deps = deps; } processRegionRequest() { return { type: 'FeatureCollection', features: [] }; } }
class Image { constructor(deps) { this.deps = deps; } processImageRequest() { return { type: 'FeatureCollection', features: [] }; } }
export default [
  { requestType: '${requestType}', handlerType: 'REGION_REQUEST_HANDLER', name: '${prefix}-region', handler: Region ${extra} },
  { requestType: '${requestType}', handlerType: 'IMAGE_REQUEST_HANDLER', name: '${prefix}-image', handler: Image ${extra} },
];
`;
}

/** A plugin entry (a complete pair) that leaves a file named `marker` next to itself when its code runs. */
export const markedPlugin = (type: string, marker = 'RAN'): string => `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./${marker}', import.meta.url), '');
${pairPlugin(type)}`;

/** A temp project: `package.json`, a config file with the cache off plus `config`, and `files`. */
export async function uncachedProject(files: Record<string, string>, config: object = {}): Promise<string> {
  return writeTree(await tempDir(), {
    'package.json': '{}',
    'osml-extensions.config.json': JSON.stringify({ cache: false, ...config }),
    ...files,
  });
}

/** A logger that records every call, for asserting what was logged. */
export function recordingLogger(): Logger & {
  lines: { level: string; obj: Record<string, unknown>; msg?: string | undefined }[];
} {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** Result of running the CLI. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Drop the capabilities that let root read any file, keeping uid 0. Permission tests need it (root
 * reads even mode-000 folders), and unlike switching to `nobody` it still reaches a checkout or a
 * temp dir that only root may enter.
 */
export const WITHOUT_DAC = ['setpriv', '--bounding-set=-dac_override,-dac_read_search'];

/**
 * Run the built CLI with `args`; the environment is scrubbed of the variables the CLI reads.
 * `unprivileged: true` runs it without root's file-reading override (see {@link WITHOUT_DAC}).
 */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; unprivileged?: boolean } = {},
): Promise<CliResult> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    REQUEST_TYPE: undefined,
    USE_EXTENSIONS: undefined,
    EXTENSION_FALLBACK_ENABLED: undefined,
    LOG_LEVEL: undefined,
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const [command, commandArgs] =
    options.unprivileged === true
      ? [WITHOUT_DAC[0], [...WITHOUT_DAC.slice(1), process.execPath, BIN, ...args]]
      : [process.execPath, [BIN, ...args]];
  return new Promise((resolve) => {
    execFile(
      command as string,
      commandArgs as string[],
      { cwd: options.cwd ?? ROOT, env: env as NodeJS.ProcessEnv },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Parse JSON log lines from stderr. */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A fully defaulted config for unit tests of resolve/extensions, with `patch` applied. */
export function makeConfig(
  patch: Partial<import('../../src/config.js').ResolvedConfig> = {},
): import('../../src/config.js').ResolvedConfig {
  return {
    cwd: ROOT,
    file: undefined,
    pluginDirs: [],
    pluginDirsNamed: true,
    requestType: {},
    useExtensions: true,
    fallbackEnabled: false,
    strict: false,
    disabled: [],
    logLevel: 'info',
    cache: false,
    slowPluginMs: 500,
    importTimeoutMs: 10_000,
    maxEntryBytes: 1024 * 1024,
    permissions: 'strict',
    probe: false,
    allowUnpinned: false,
    lockFile: path.join(ROOT, 'osml-extensions.lock.json'),
    ...patch,
  };
}

/** The code of the ExtensionError that `run` throws (or rejects with); fails if it throws nothing or something else. */
export async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (isExtensionError(error)) return error.code;
    throw error;
  }
  throw new Error('expected an ExtensionError');
}
