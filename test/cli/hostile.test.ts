/**
 * Hostile and broken plugins (issue #3, item 20).
 *
 * test/fixtures/hostile/ holds a corpus of broken or hostile plugins beside two good ones. Each test
 * copies it into a temp dir, adds what git cannot keep (a symlink out of the root, a world-writable
 * folder, a 1 MiB entry, folder names that are not valid UTF-8 or hold control characters), and runs
 * the built CLI. The `CORPUS` table below is the documentation: one row per plugin folder, with the
 * code it must be refused with and the source the refusal must carry.
 *
 * Plugins that must never run write `MARKER-<name>` into `$OSML_HOSTILE_MARKERS` on their first line;
 * the tests assert those markers are absent.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ListDocument } from '../../src/cli/output.js';
import { loadConfig } from '../../src/config.js';
import type { PluginCandidate } from '../../src/boot/discover.js';
import type { ErrorCode } from '../../src/shared/errors.js';
import { isExtensionError } from '../../src/shared/errors.js';
import { loadExtensions } from '../../src/host/extensions.js';
import { pinFolder } from '../../src/boot/lock.js';
import { loadPlugin } from '../../src/boot/load.js';
import { linkModules } from '../helpers/consumer.js';
import {
  BIN,
  ROOT,
  fixture,
  logLines,
  pairPlugin,
  runCli,
  tempDir,
  writeTree,
  type CliResult,
} from '../helpers/index.js';

const CORPUS_DIR = fixture('hostile');
const entry = (folder: string): string => `plugins/${folder}/index.mjs`;
const dirOf = (folder: string): string => `plugins/${folder}`;

/** The folder names made at test time: raw bytes, and their escaped form as BAD_FILENAME reports it. */
const BAD_NAMES = {
  utf8: {
    bytes: Buffer.concat([Buffer.from('bad-utf8-'), Buffer.from([0xff, 0xfe])]),
    escaped: 'bad-utf8-\\xff\\xfe',
    marker: 'MARKER-bad-utf8',
  },
  control: {
    bytes: Buffer.from('ctl-\u001b[31m-\u0007bell'),
    escaped: 'ctl-\\x1b[31m-\\x07bell',
    marker: 'MARKER-ctl',
  },
} as const;

/** One hostile plugin folder. */
interface Case {
  /** The folder under plugins/ (escaped for BAD_FILENAME). */
  folder: string;
  /** What is wrong with it. */
  what: string;
  /** The code it must be refused with. */
  code: ErrorCode;
  /** The `source` of its refusal: the entry (README: "the entry file's path"), or the folder when discovery refused it. */
  source: string;
  /** What the message must name besides the source, when the source alone does not say which plugin it is. */
  names?: string;
  /** Markers that must NOT exist afterwards: the plugin (or what it points to) must never run. */
  neverRuns?: string[];
  /** Completed at test time (git keeps neither symlinks reliably, modes, nor such names). */
  madeAtTestTime?: true;
}

/**
 * Every hostile plugin, its expected code and source. The two good plugins, `good-alpha` (plain
 * objects) and `good-omega` (registerHandler by package name), must register beside them.
 */
const CORPUS: readonly Case[] = [
  // Importing threw, or never finished.
  { folder: 'syntax-error', what: 'a syntax error', code: 'IMPORT_FAILED', source: entry('syntax-error') },
  { folder: 'throw-error', what: 'throws an Error at import', code: 'IMPORT_FAILED', source: entry('throw-error') },
  { folder: 'throw-null', what: 'throw null', code: 'IMPORT_FAILED', source: entry('throw-null') },
  { folder: 'throw-number', what: 'throw 42', code: 'IMPORT_FAILED', source: entry('throw-number') },
  {
    folder: 'throw-unprintable',
    what: 'throws an object whose toString throws',
    code: 'IMPORT_FAILED',
    source: entry('throw-unprintable'),
  },
  {
    folder: 'throw-proxy',
    what: 'throws a Proxy whose every trap throws',
    code: 'IMPORT_FAILED',
    source: entry('throw-proxy'),
  },
  {
    folder: 'tla-never-settles',
    what: 'a top-level await that never settles',
    code: 'IMPORT_TIMEOUT',
    source: entry('tla-never-settles'),
  },
  {
    folder: 'circular-tdz',
    what: 'an import cycle that hits a TDZ ReferenceError',
    code: 'IMPORT_FAILED',
    source: entry('circular-tdz'),
  },
  {
    folder: 'missing-package',
    what: 'imports a package that is not installed',
    code: 'IMPORT_FAILED',
    source: entry('missing-package'),
  },
  {
    folder: 'marker-then-throw',
    what: 'writes its marker, then throws',
    code: 'IMPORT_FAILED',
    source: entry('marker-then-throw'),
  },
  // Its manifests are refused.
  {
    folder: 'manifest-throwing-getter',
    what: 'getters that throw (requestType, handler)',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-throwing-getter'),
  },
  {
    folder: 'manifest-proxy',
    what: 'a Proxy that answers like a valid manifest',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-proxy'),
  },
  {
    folder: 'manifest-proxy-throwing',
    what: 'a Proxy whose every trap throws',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-proxy-throwing'),
  },
  {
    folder: 'manifest-own-proto',
    what: 'an own "__proto__" key (JSON.parse)',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-own-proto'),
  },
  {
    folder: 'manifest-own-constructor',
    what: 'an own "constructor" key',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-own-constructor'),
  },
  {
    folder: 'manifest-unknown-key',
    what: 'the typo "requesttype"',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-unknown-key'),
  },
  {
    folder: 'manifest-wrong-types',
    what: 'wrong types in every field',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-wrong-types'),
  },
  {
    folder: 'manifest-bad-request-type',
    what: 'request type "../Bad Type"',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-bad-request-type'),
  },
  {
    folder: 'manifest-bad-name',
    what: 'handler name "Bad Name/../x"',
    code: 'MANIFEST_INVALID',
    source: entry('manifest-bad-name'),
  },
  {
    folder: 'handler-not-class',
    what: 'handler is an arrow function',
    code: 'MANIFEST_INVALID',
    source: entry('handler-not-class'),
  },
  {
    folder: 'handler-missing-method',
    what: 'image handler without processImageRequest()',
    code: 'MANIFEST_INVALID',
    source: entry('handler-missing-method'),
  },
  {
    folder: 'decorator-bad-manifest',
    what: "registerHandler (from 'osml-extensions') with a bad request type",
    code: 'MANIFEST_INVALID',
    source: entry('decorator-bad-manifest'),
  },
  {
    folder: 'manifests-not-array',
    what: '`export const manifests` is one object, not an array',
    code: 'MANIFEST_INVALID',
    source: entry('manifests-not-array'),
  },
  {
    folder: 'no-manifest',
    what: 'exports no manifest and no decorated class',
    code: 'MANIFEST_MISSING',
    source: entry('no-manifest'),
  },
  // Refused by discovery: no code runs.
  {
    folder: 'pkg-invalid-json',
    what: 'package.json is not JSON (trailing comma)',
    code: 'PACKAGE_JSON_INVALID',
    source: dirOf('pkg-invalid-json'),
    neverRuns: ['MARKER-pkg-invalid-json'],
  },
  {
    folder: 'pkg-proto-key',
    what: 'package.json has a "__proto__" key',
    code: 'PACKAGE_JSON_INVALID',
    source: dirOf('pkg-proto-key'),
    neverRuns: ['MARKER-pkg-proto-key', 'MARKER-pkg-proto-key-evil'],
  },
  {
    folder: 'pkg-main-missing',
    what: 'package.json "main" names a missing file',
    code: 'ENTRY_NOT_FOUND',
    source: dirOf('pkg-main-missing'),
    neverRuns: ['MARKER-pkg-main-missing'],
  },
  { folder: 'no-entry', what: 'a folder with no entry file', code: 'ENTRY_NOT_FOUND', source: dirOf('no-entry') },
  {
    folder: BAD_NAMES.utf8.escaped,
    what: 'folder name is not valid UTF-8',
    code: 'BAD_FILENAME',
    source: dirOf(BAD_NAMES.utf8.escaped),
    neverRuns: [BAD_NAMES.utf8.marker],
    madeAtTestTime: true,
  },
  {
    folder: BAD_NAMES.control.escaped,
    what: 'folder name holds an ANSI escape and a bell',
    code: 'BAD_FILENAME',
    source: dirOf(BAD_NAMES.control.escaped),
    neverRuns: [BAD_NAMES.control.marker],
    madeAtTestTime: true,
  },
  // Refused by vetting, before import: no code runs.
  // `../outside.mjs` leaves the plugin's folder for plugins/outside.mjs: a file no lock pin or cache fingerprint covers.
  {
    folder: 'pkg-main-escape',
    what: 'package.json "main": "../outside.mjs"',
    code: 'PATH_ESCAPE',
    source: 'plugins/outside.mjs',
    names: dirOf('pkg-main-escape'),
    neverRuns: ['MARKER-plugins-outside'],
  },
  {
    folder: 'pkg-main-escape-root',
    what: 'package.json "main": "../../outside.mjs"',
    code: 'PATH_ESCAPE',
    source: 'outside.mjs',
    names: dirOf('pkg-main-escape-root'),
    neverRuns: ['MARKER-outside'],
  },
  {
    folder: 'symlink-escape',
    what: 'index.mjs is a symlink to ../../outside.mjs',
    code: 'PATH_ESCAPE',
    source: entry('symlink-escape'),
    names: dirOf('symlink-escape'),
    neverRuns: ['MARKER-outside'],
    madeAtTestTime: true,
  },
  {
    folder: 'entry-too-large',
    what: 'a 1 MiB + 1 KiB entry',
    code: 'ENTRY_TOO_LARGE',
    source: entry('entry-too-large'),
    neverRuns: ['MARKER-entry-too-large'],
    madeAtTestTime: true,
  },
  {
    folder: 'world-writable',
    what: 'chmod 0777 on the plugin folder',
    code: 'INSECURE_PERMISSIONS',
    source: entry('world-writable'),
    neverRuns: ['MARKER-world-writable'],
    madeAtTestTime: true,
  },
  // Registry conflicts with the built-in http pair (always registered first).
  {
    folder: 'duplicate-slot',
    what: 'claims the built-in http region slot',
    code: 'DUPLICATE_SLOT',
    source: entry('duplicate-slot'),
  },
  {
    folder: 'duplicate-name',
    what: 'takes the built-in name "http-region"',
    code: 'DUPLICATE_NAME',
    source: entry('duplicate-name'),
  },
];

/** The good plugins beside the corpus, and what they must register. */
const GOOD = {
  good_alpha: { source: entry('good-alpha'), names: ['good-alpha-image', 'good-alpha-region'] },
  good_omega: { source: entry('good-omega'), names: ['good-omega-image', 'good-omega-region'] },
} as const;

/** A rejection belongs to a case when its source is the case's source or lies under it. */
const belongsTo = (c: Case, source: string): boolean => source === c.source || source.startsWith(`${c.source}/`);

/** An entry that writes `MARKER-<name>` into $OSML_HOSTILE_MARKERS first, then offers a valid pair. */
function markerEntry(marker: string, requestType: string): string {
  return `import { writeFileSync } from 'node:fs';
writeFileSync(\`\${process.env.OSML_HOSTILE_MARKERS}/${marker}\`, 'ran\\n');
${pairPlugin(requestType)}`;
}

/**
 * Copy the corpus into a fresh temp dir (mode 0755, so other users can traverse it) and complete
 * the cases git cannot keep. `without` leaves folders out.
 */
async function corpusCopy(without: readonly string[] = []): Promise<{ dir: string; markers: string }> {
  const dir = await tempDir();
  await chmod(dir, 0o755);
  const skip = new Set(without.map((folder) => path.join(CORPUS_DIR, 'plugins', folder)));
  await cp(CORPUS_DIR, dir, {
    recursive: true,
    filter: (src) =>
      !skip.has(src) && !path.basename(src).startsWith('MARKER') && src !== path.join(CORPUS_DIR, 'probe-only'),
  });
  // `import ... from 'osml-extensions'` resolves as it would after `npm install`.
  await linkModules(dir, [], { self: true });
  const markers = path.join(dir, 'markers');
  await mkdir(markers);
  const plugins = path.join(dir, 'plugins');

  await chmod(path.join(plugins, 'world-writable'), 0o777);
  await mkdir(path.join(plugins, 'symlink-escape'));
  await symlink('../../outside.mjs', path.join(plugins, 'symlink-escape', 'index.mjs'));
  await mkdir(path.join(plugins, 'entry-too-large'));
  await writeFile(
    path.join(plugins, 'entry-too-large', 'index.mjs'),
    `${markerEntry('MARKER-entry-too-large', 'too_large')}\n// ${'x'.repeat(1024 * 1024 + 1024)}\n`,
  );
  for (const bad of Object.values(BAD_NAMES)) {
    const folder = Buffer.concat([Buffer.from(`${plugins}/`), bad.bytes]);
    await mkdir(folder);
    await writeFile(Buffer.concat([folder, Buffer.from('/index.mjs')]), markerEntry(bad.marker, 'bad_filename'));
  }
  return { dir, markers };
}

/** Parse a `list`/`check --json` document, or fail with what the CLI printed instead. */
function listDoc(result: CliResult): ListDocument {
  const doc = JSON.parse(result.stdout) as ListDocument & { error?: { code: string; message: string } };
  if (doc.error !== undefined)
    throw new Error(`expected a list document, the CLI failed with ${doc.error.code}: ${doc.error.message}`);
  return doc;
}

/** Names registered from one source, sorted. */
const namesFrom = (doc: ListDocument, source: string): string[] =>
  doc.handlers
    .filter((h) => h.source === source)
    .map((h) => h.name)
    .sort();

/** Run the built CLI like runCli, optionally under a command prefix (setpriv) and with a kill timeout. */
function runWith(
  prefix: readonly string[],
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult & { signal: string | null }> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    REQUEST_TYPE: undefined,
    USE_EXTENSIONS: undefined,
    EXTENSION_FALLBACK_ENABLED: undefined,
    LOG_LEVEL: undefined,
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const [file, ...rest] = [...prefix, process.execPath, BIN, ...args] as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(
      file,
      rest,
      { cwd: ROOT, env: env as NodeJS.ProcessEnv, timeout: options.timeoutMs ?? 0, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr, signal: error?.signal ?? null });
      },
    );
  });
}

describe('hostile corpus: check --json', () => {
  /** Everything is computed here, once: the temp dir is removed after the first test. */
  let full: CliResult;
  /** The run the per-plugin checks read (the full one, unless the full boot crashed). */
  let doc: ListDocument;
  let fullCrashed: string | undefined;
  let list: CliResult;
  let strict: CliResult;
  /** Markers written by any corpus run. */
  let markersLeft: string[] = [];

  beforeAll(async () => {
    const { dir, markers } = await corpusCopy();
    const env = { OSML_HOSTILE_MARKERS: markers };
    [full, list, strict] = await Promise.all([
      runCli(['check', '--json', '--cwd', dir], { env }),
      runCli(['list', '--cwd', dir], { env }),
      runCli(['check', '--json', '--strict', '--cwd', dir], { env }),
    ]);
    try {
      doc = listDoc(full);
    } catch (error) {
      // One plugin crashing the whole boot must not hide what the others do: the per-plugin checks
      // then read a run without the manifest-reading crashers (the tests of those, and the
      // whole-corpus tests, still fail).
      fullCrashed = (error as Error).message;
      const again = await corpusCopy(['manifest-throwing-getter', 'manifest-proxy-throwing']);
      doc = listDoc(
        await runCli(['check', '--json', '--cwd', again.dir], { env: { OSML_HOSTILE_MARKERS: again.markers } }),
      );
      markersLeft = await readdir(again.markers);
    }
    markersLeft = [...new Set([...markersLeft, ...(await readdir(markers))])];
  }, 60_000);

  it('the corpus has at least 30 hostile plugins, each in its own folder, beside two good ones', async () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CORPUS.map((c) => c.folder)).size).toBe(CORPUS.length);
    const committed = (await readdir(path.join(CORPUS_DIR, 'plugins'), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const listed = new Set([...CORPUS.map((c) => c.folder), 'good-alpha', 'good-omega']);
    expect(committed.filter((name) => !listed.has(name))).toEqual([]); // every committed folder has a row
  });

  it('boots the whole corpus: a list document, exit 1', () => {
    expect(fullCrashed, 'one hostile plugin crashed the whole boot').toBeUndefined();
    expect(full.code).toBe(1);
  });

  it('registers every good plugin beside them, complete', () => {
    for (const [requestType, good] of Object.entries(GOOD)) {
      expect(namesFrom(doc, good.source), good.source).toEqual(good.names);
      expect(doc.requestTypes[requestType]).toEqual({ complete: true });
    }
    expect(doc.requestTypes['http']).toEqual({ complete: true });
    expect(namesFrom(doc, 'builtin')).toEqual(['http-image', 'http-region']);
  });

  it('registers nothing from a hostile plugin', () => {
    const goodSources = new Set<string>([...Object.values(GOOD).map((g) => g.source), 'builtin']);
    expect(doc.handlers.filter((h) => !goodSources.has(h.source))).toEqual([]);
  });

  it('refuses nothing that is not in the table', () => {
    expect(doc.rejected.filter((r) => !CORPUS.some((c) => belongsTo(c, r.source)))).toEqual([]);
  });

  describe.each(CORPUS)('$folder: $what → $code', (c) => {
    it('is refused once, with its code, naming its source', () => {
      const own = doc.rejected.filter((r) => belongsTo(c, r.source));
      const mentions = (text: string) =>
        text
          .split(dirOf(c.folder))
          .slice(1)
          .some((after) => !/^[\w-]/.test(after));
      const related = doc.rejected.filter((r) => mentions(r.source) || mentions(r.message));
      expect(
        own.map((r) => r.code),
        `refusals with source ${c.source}; related refusals: ${JSON.stringify(related)}`,
      ).toEqual([c.code]);
      const [refusal] = own;
      expect(refusal?.source).toBe(c.source);
      expect(refusal?.message).toContain(c.source);
      if (c.names !== undefined) expect(refusal?.message).toContain(c.names);
    });
  });

  describe.each(CORPUS.filter((c) => c.neverRuns !== undefined))('$folder: $code', (c) => {
    it('was never imported (its marker is absent)', () => {
      for (const marker of c.neverRuns ?? [])
        expect(markersLeft, `${marker}: ${c.folder} (or what it points to) was imported`).not.toContain(marker);
    });
  });

  it('markers work: the plugin that writes its marker and throws did run', () => {
    expect(markersLeft).toContain('MARKER-marker-then-throw');
  });

  it('names the circular file and the TDZ error; describes unprintable throws without crashing', () => {
    const message = (folder: string) => doc.rejected.find((r) => r.source === entry(folder))?.message ?? '';
    expect(message('circular-tdz')).toMatch(/ReferenceError: Cannot access 'REQUEST_TYPE' before initialization/);
    expect(message('throw-null')).toContain('threw null');
    expect(message('throw-number')).toContain('threw 42');
    expect(message('throw-unprintable')).toContain('cannot be printed');
    expect(message('missing-package')).toContain('osml-hostile-definitely-not-installed');
    expect(message('tla-never-settles')).toContain('1500 ms');
  });

  it('`list` lists each broken plugin once (exit 0 without strict)', () => {
    expect(
      list.code,
      list.stderr
        .split('\n')
        .filter((line) => line.startsWith('osml-extensions:'))
        .join('\n'),
    ).toBe(0);
    const lines = list.stdout.split('\n');
    for (const c of CORPUS) {
      const matching = lines.filter((line) => line === `  ${c.code}  ${c.source}`);
      expect(matching, `${c.source} in \`list\``).toHaveLength(1);
    }
  });

  it('--strict reports every problem in one run (all codes present)', () => {
    expect(strict.code).toBe(1);
    const strictDoc = listDoc(strict);
    const codes = new Set(strictDoc.rejected.map((r) => r.code));
    for (const code of new Set(CORPUS.map((c) => c.code))) expect(codes, code).toContain(code);
    expect(strictDoc.rejected.length).toBeGreaterThanOrEqual(CORPUS.length);
  });
});

describe('an unreadable plugin folder', () => {
  it('is refused with PERMISSION_DENIED (for that folder only) when run as an unprivileged user', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o755);
    await writeTree(dir, {
      'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false }),
      'plugins/good/index.mjs': pairPlugin('good'),
      'plugins/locked/index.mjs': pairPlugin('locked'),
    });
    await chmod(path.join(dir, 'plugins', 'locked'), 0o000);

    // As root every folder is readable, so the CLI runs without root's DAC override capabilities;
    // then a mode-000 folder is unreadable even to its owner.
    const setpriv = '/usr/bin/setpriv';
    let prefix: string[] = [];
    let reason: string | undefined;
    if (process.getuid?.() === 0) {
      // Keep uid 0 but drop root's read-anything capabilities: the checkout and temp dir stay reachable.
      prefix = [setpriv, '--bounding-set=-dac_override,-dac_read_search'];
      if (!existsSync(setpriv)) reason = `${setpriv} does not exist`;
      else {
        // Without the override, uid 0 must still run node, load dist/ and node_modules, and read the temp dir.
        const probe = await runWith(prefix, ['--version']);
        if (probe.code !== 0)
          reason = `the CLI cannot run without DAC capabilities (${probe.stderr.trim() || probe.stdout.trim()})`;
        else {
          const readable = await new Promise<boolean>((resolve) => {
            execFile(
              setpriv,
              [...prefix.slice(1), 'test', '-r', path.join(dir, 'plugins', 'good', 'index.mjs')],
              (error) => resolve(error === null),
            );
          });
          if (!readable) reason = `the temp dir ${dir} is unreadable without DAC capabilities`;
        }
      }
    }
    if (reason !== undefined) {
      console.warn(`PERMISSION_DENIED not tested as another user: ${reason}`);
      // What can be asserted as root: the locked folder does not stop the boot.
      const doc = listDoc(await runCli(['check', '--json', '--cwd', dir]));
      expect(namesFrom(doc, 'plugins/good/index.mjs')).toEqual(['good-image', 'good-region']);
      return;
    }
    const result = await runWith(prefix, ['check', '--json', '--cwd', dir], { timeoutMs: 30_000 });
    const doc = listDoc(result);
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['PERMISSION_DENIED', 'plugins/locked']]);
    expect(doc.rejected[0]?.message).toContain('plugins/locked');
    expect(namesFrom(doc, 'plugins/good/index.mjs')).toEqual(['good-image', 'good-region']);
    expect(result.code).toBe(1);
  });
});

describe('the lock file', () => {
  /** A scenario with two good plugins, pinned by `osml-extensions lock`. */
  async function locked(
    config: Record<string, unknown> = {},
  ): Promise<{ dir: string; markers: string; lock: { plugins: { folder: string; integrity: string }[] } }> {
    const dir = await tempDir();
    const markers = path.join(dir, 'markers');
    await writeTree(dir, {
      'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false, ...config }),
      'plugins/good-a/index.mjs': pairPlugin('good_a'),
      'plugins/good-b/index.mjs': pairPlugin('good_b'),
      'markers/.keep': '',
    });
    const result = await runCli(['lock', '--json', '--cwd', dir]);
    expect(result.code, result.stderr).toBe(0);
    const lock = JSON.parse(await readFile(path.join(dir, 'osml-extensions.lock.json'), 'utf8')) as {
      plugins: { folder: string; integrity: string }[];
    };
    expect(lock.plugins.map((p) => p.folder)).toEqual(['plugins/good-a', 'plugins/good-b']);
    return { dir, markers, lock };
  }
  const check = (dir: string, markers: string) =>
    runCli(['check', '--json', '--cwd', dir], { env: { OSML_HOSTILE_MARKERS: markers } });

  it('a changed file: INTEGRITY_MISMATCH with the expected and actual digest prefixes; never imported', async () => {
    const { dir, markers, lock } = await locked();
    await writeFile(path.join(dir, 'plugins/good-a/index.mjs'), markerEntry('MARKER-changed', 'good_a'));
    const result = await check(dir, markers);
    const doc = listDoc(result);
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['INTEGRITY_MISMATCH', 'plugins/good-a/index.mjs']]);
    const expected = lock.plugins[0]?.integrity.slice(0, 19) ?? '';
    const actual = (await pinFolder(path.join(dir, 'plugins/good-a'), 'plugins/good-a')).integrity.slice(0, 19);
    expect(expected).toMatch(/^sha512-.{12}$/);
    expect(actual).not.toBe(expected);
    const message = doc.rejected[0]?.message ?? '';
    expect(message).toContain('plugins/good-a/index.mjs');
    expect(message).toContain(`expected ${expected}`);
    expect(message).toContain(`got ${actual}`);
    expect(message).toContain('index.mjs');
    expect(await readdir(markers)).not.toContain('MARKER-changed');
    expect(namesFrom(doc, 'plugins/good-b/index.mjs')).toEqual(['good-b-image', 'good-b-region']);
    expect(result.code).toBe(1);
  });

  it('an added file: INTEGRITY_MISMATCH naming the extra file', async () => {
    const { dir, markers } = await locked();
    await writeFile(path.join(dir, 'plugins/good-a/sneaky.mjs'), 'export const x = 1;\n');
    const doc = listDoc(await check(dir, markers));
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['INTEGRITY_MISMATCH', 'plugins/good-a/index.mjs']]);
    expect(doc.rejected[0]?.message).toContain('sneaky.mjs');
  });

  it('a new plugin: UNPINNED, never imported; with allowUnpinned it loads with a warning', async () => {
    const { dir, markers } = await locked();
    await writeTree(dir, { 'plugins/newcomer/index.mjs': markerEntry('MARKER-newcomer', 'newcomer') });
    const refused = listDoc(await check(dir, markers));
    expect(refused.rejected.map((r) => [r.code, r.source])).toEqual([['UNPINNED', 'plugins/newcomer/index.mjs']]);
    expect(refused.rejected[0]?.message).toContain('plugins/newcomer/index.mjs');
    expect(await readdir(markers)).not.toContain('MARKER-newcomer');

    await writeFile(
      path.join(dir, 'osml-extensions.config.json'),
      JSON.stringify({ pluginDirs: ['plugins'], cache: false, allowUnpinned: true }),
    );
    const result = await check(dir, markers);
    const allowed = listDoc(result);
    expect(allowed.rejected).toEqual([]);
    expect(namesFrom(allowed, 'plugins/newcomer/index.mjs')).toEqual(['newcomer-image', 'newcomer-region']);
    const warnings = logLines(result.stderr).filter((l) => l['event'] === 'plugin.unpinned');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, source: 'plugins/newcomer/index.mjs' });
    expect(await readdir(markers)).toContain('MARKER-newcomer');
    expect(result.code).toBe(0);
  });

  it('check reports a pinned folder that was deleted (drift)', async () => {
    const { dir, markers } = await locked();
    await rm(path.join(dir, 'plugins/good-b'), { recursive: true });
    const result = await check(dir, markers);
    const doc = listDoc(result);
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['INTEGRITY_MISMATCH', 'plugins/good-b']]);
    expect(doc.rejected[0]?.message).toContain('plugins/good-b');
    expect(namesFrom(doc, 'plugins/good-a/index.mjs')).toEqual(['good-a-image', 'good-a-region']);
    expect(result.code).toBe(1);
  });

  it('a file swapped between verification and import is refused, and its new code never runs', async () => {
    const dir = await tempDir();
    const victimCode = `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./SWAPPED-RAN', import.meta.url), 'ran\\n');
${pairPlugin('victim')}`;
    await writeTree(dir, {
      'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false }),
      // Sorted first, imported first (concurrency 1): rewrites b-victim after both were verified.
      'plugins/a-swapper/index.mjs': `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../b-victim/index.mjs', import.meta.url), ${JSON.stringify(victimCode)});
${pairPlugin('swapper')}`,
      'plugins/b-victim/index.mjs': pairPlugin('victim'),
    });
    expect((await runCli(['lock', '--cwd', dir])).code).toBe(0);

    const ext = await loadExtensions({ cwd: dir, env: {}, concurrency: 1 });
    expect(ext.rejected.map((r) => [r.code, r.source])).toEqual([['INTEGRITY_MISMATCH', 'plugins/b-victim/index.mjs']]);
    expect(ext.rejected[0]?.message).toContain('plugins/b-victim/index.mjs');
    expect(existsSync(path.join(dir, 'plugins/b-victim/SWAPPED-RAN')), 'the swapped-in code ran').toBe(false);
    expect(await readFile(path.join(dir, 'plugins/b-victim/index.mjs'), 'utf8')).toContain('SWAPPED-RAN'); // the swap did happen
    expect(ext.registry.isComplete('swapper')).toBe(true);
    expect(ext.registry.requestTypes()).not.toContain('victim');
  });
});

describe('the lock, seen through symlinks', () => {
  it('pins a symlinked file by what it leads to: editing the target outside the folder is caught', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false }),
      'outside/helper.mjs': "export const type = 'linked';",
      'plugins/a/index.mjs': `import { type } from './helper.mjs';\n${pairPlugin('x').replaceAll("'x'", 'type')}`,
    });
    await symlink(path.join(dir, 'outside/helper.mjs'), path.join(dir, 'plugins/a/helper.mjs'));
    expect((await runCli(['lock', '--cwd', dir])).code).toBe(0);
    expect((await runCli(['check', '--json', '--cwd', dir])).code).toBe(0);
    await writeTree(dir, { 'outside/helper.mjs': "export const type = 'tampered';" });
    const doc = listDoc(await runCli(['check', '--json', '--cwd', dir]));
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['INTEGRITY_MISMATCH', 'plugins/a/index.mjs']]);
    expect(doc.rejected[0]?.message).toContain('helper.mjs');
  });

  it('re-checks files at load time even when the working directory is reached through a symlink', async () => {
    const real = await tempDir();
    const victimCode = `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./SWAPPED-RAN', import.meta.url), 'ran\\n');
${pairPlugin('victim')}`;
    await writeTree(real, {
      'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false }),
      'plugins/a-swapper/index.mjs': `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../b-victim/index.mjs', import.meta.url), ${JSON.stringify('export const swapped = true;\n')} + ${JSON.stringify(victimCode)});
${pairPlugin('swapper')}`,
      'plugins/b-victim/index.mjs': pairPlugin('victim'),
    });
    expect((await runCli(['lock', '--cwd', real])).code).toBe(0);
    const link = `${real}-link`;
    await symlink(real, link);
    try {
      const ext = await loadExtensions({ cwd: link, env: {}, concurrency: 1 });
      expect(ext.rejected.map((r) => r.code)).toEqual(['INTEGRITY_MISMATCH']);
      expect(existsSync(path.join(real, 'plugins/b-victim/SWAPPED-RAN')), 'the swapped-in code ran').toBe(false);
    } finally {
      await rm(link);
    }
  });
});

describe('selectors are names, never paths or URLs', () => {
  it.each(['../x.mjs', '/tmp/e.mjs', 'data:text/javascript,1', 'node:child_process'])(
    'REQUEST_TYPE=%s → CONFIG_INVALID, no plugin imported',
    async (value) => {
      const dir = await tempDir();
      await writeTree(dir, {
        'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false }),
        'plugins/watched/index.mjs': markerEntry('MARKER-watched', 'watched'),
        'markers/.keep': '',
      });
      const markers = path.join(dir, 'markers');
      const result = await runCli(['resolve', '--json', '--cwd', dir], {
        env: { REQUEST_TYPE: value, OSML_HOSTILE_MARKERS: markers },
      });
      const out = JSON.parse(result.stdout) as { error?: { code: string; message: string } };
      expect(out.error?.code).toBe('CONFIG_INVALID');
      expect(out.error?.message).toContain('REQUEST_TYPE');
      expect(result.code).toBe(1);
      expect(await readdir(markers)).not.toContain('MARKER-watched');
    },
  );
});

describe('config files with prototype-poisoning keys', () => {
  const cases: [string, string, string][] = [
    [
      'JSON "__proto__"',
      'osml-extensions.config.json',
      '{ "__proto__": { "polluted": "yes" }, "pluginDirs": ["plugins"] }',
    ],
    [
      'JSON "constructor.prototype"',
      'osml-extensions.config.json',
      '{ "constructor": { "prototype": { "polluted": "yes" } } }',
    ],
    ['YAML rc "__proto__"', '.osml-extensionsrc.yaml', '__proto__:\n  polluted: yes\npluginDirs:\n  - plugins\n'],
  ];
  it.each(cases)('%s → CONFIG_INVALID naming the file, and nothing is polluted', async (_label, file, content) => {
    const dir = await writeTree(await tempDir(), { [file]: content });
    const error = await loadConfig({ cwd: dir, env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isExtensionError(error, 'CONFIG_INVALID'), String(error)).toBe(true);
    expect((error as Error).message).toContain(file);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('IMPORT_TIMEOUT', () => {
  it('the CLI still exits when done, with the hanging plugin refused', async () => {
    const dir = await writeTree(await tempDir(), {
      'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false, importTimeoutMs: 300 }),
      'plugins/good/index.mjs': pairPlugin('good'),
      'plugins/hangs/index.mjs': 'await new Promise(() => {});\nexport default {};\n',
    });
    const started = performance.now();
    const result = await runWith([], ['check', '--json', '--cwd', dir], { timeoutMs: 15_000 });
    expect(result.signal, 'the CLI had to be killed: it did not exit').toBeNull();
    const doc = listDoc(result);
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['IMPORT_TIMEOUT', 'plugins/hangs/index.mjs']]);
    expect(namesFrom(doc, 'plugins/good/index.mjs')).toEqual(['good-image', 'good-region']);
    expect(result.code).toBe(1);
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('a hanging entry is not imported again in the same process: the second attempt fails at once', async () => {
    const dir = await writeTree(await tempDir(), {
      'plugins/hangs/index.mjs': 'await new Promise(() => {});\nexport default {};\n',
    });
    const candidate: PluginCandidate = {
      name: 'hangs',
      root: path.join(dir, 'plugins'),
      dir: path.join(dir, 'plugins', 'hangs'),
      entry: path.join(dir, 'plugins', 'hangs', 'index.mjs'),
      source: 'plugins/hangs/index.mjs',
    };
    const first = await loadPlugin(candidate, { timeoutMs: 200 });
    expect(first.rejected.map((r) => r.code)).toEqual(['IMPORT_TIMEOUT']);
    const started = performance.now();
    const second = await loadPlugin(candidate, { timeoutMs: 200 });
    const elapsed = performance.now() - started;
    expect(second.rejected.map((r) => r.code)).toEqual(['IMPORT_TIMEOUT']);
    expect(second.rejected[0]?.message).toContain('plugins/hangs/index.mjs');
    expect(elapsed, 'the second attempt waited for the timeout again').toBeLessThan(100);
  });
});

describe('the worker probe (probe: true)', () => {
  // Never run the loop without the probe: nothing could interrupt it in-process. The kill timeout
  // below only guards against a probe regression leaving a spinning process behind.
  it('refuses a synchronous infinite loop with IMPORT_TIMEOUT, and the host exits normally', async () => {
    const dir = await writeTree(await tempDir(), {
      'osml-extensions.config.json': JSON.stringify({
        pluginDirs: ['plugins'],
        cache: false,
        probe: true,
        importTimeoutMs: 1000,
      }),
      'plugins/good/index.mjs': pairPlugin('good'),
    });
    await cp(path.join(CORPUS_DIR, 'probe-only', 'sync-loop'), path.join(dir, 'plugins', 'sync-loop'), {
      recursive: true,
    });
    const result = await runWith([], ['check', '--json', '--cwd', dir], { timeoutMs: 15_000 });
    expect(result.signal, 'the host had to be killed: the loop ran in it').toBeNull();
    const doc = listDoc(result);
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['IMPORT_TIMEOUT', 'plugins/sync-loop/index.mjs']]);
    expect(doc.rejected[0]?.message).toContain('plugins/sync-loop/index.mjs');
    expect(namesFrom(doc, 'plugins/good/index.mjs')).toEqual(['good-image', 'good-region']);
    expect(result.code).toBe(1);
  });
});

describe('a file-system error in one plugin refuses only that plugin', () => {
  it('an unreadable non-entry file under a lock is PERMISSION_DENIED for that plugin; the rest boots', async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'osml-extensions.config.json': JSON.stringify({ pluginDirs: ['plugins'], cache: false }),
      'plugins/a/index.mjs': pairPlugin('a_type'),
      'plugins/a/notes.txt': 'private',
      'plugins/b/index.mjs': pairPlugin('b_type'),
    });
    expect((await runCli(['lock', '--cwd', dir])).code).toBe(0);
    await chmod(dir, 0o755);
    await chmod(path.join(dir, 'plugins/a/notes.txt'), 0o000);
    const run = await runCli(['check', '--json', '--cwd', dir], { unprivileged: true });
    const doc = listDoc(run);
    expect(doc.rejected.map((r) => [r.code, r.source])).toEqual([['PERMISSION_DENIED', 'plugins/a/index.mjs']]);
    expect(doc.rejected[0]?.message).not.toContain(dir);
    expect(doc.requestTypes['b_type']).toEqual({ complete: true });
  });
});
