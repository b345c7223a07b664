/**
 * The hostile corpus, second round: lock bypasses and special files. Each case runs the real CLI
 * (or the boot, where an ordering must be forced) in a fresh project; a plugin that must not run
 * would write the marker file RAN, which must never exist.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { pairPlugin, ROOT, runCli, tempDir, writeTree } from '../helpers/index.js';

const W = "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('../../RAN', import.meta.url), 'ran');\n";
const codes = (stdout: string) =>
  (JSON.parse(stdout) as { rejected: { source: string; code: string }[] }).rejected.map((r) => [r.source, r.code]);

async function locked(files: Record<string, string>): Promise<string> {
  const cwd = await writeTree(await tempDir(), { 'plugins/good/index.mjs': pairPlugin('good'), ...files });
  const lock = await runCli(['lock', '--log-level', 'silent'], { cwd });
  expect(lock.code, lock.stderr).toBe(0);
  return cwd;
}

describe('lock bypasses', () => {
  it('a pinned entry swapped for a link to a file outside the root after vetting is refused at load time', async () => {
    const cwd = await locked({
      // Imported first (concurrency 1): swaps b's entry for a link to outside/evil.mjs.
      'plugins/a/index.mjs': `import { rmSync, symlinkSync } from 'node:fs';\nconst b = new URL('../b/index.mjs', import.meta.url);\nrmSync(b);\nsymlinkSync(new URL('../../outside/evil.mjs', import.meta.url).pathname, b.pathname);\n${pairPlugin('a')}`,
      'plugins/b/index.mjs': pairPlugin('b'),
      'outside/evil.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('../RAN', import.meta.url), 'ran');\nexport default [];\n`,
    });
    // In a plain Node process, as in production (Vite's module runner would resolve the link itself).
    const script = `const { loadExtensions } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href)});
const ext = await loadExtensions({ cwd: process.cwd(), concurrency: 1, overrides: { cache: false } });
console.log(JSON.stringify(ext.rejected.map((r) => [r.source, r.code])));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([['plugins/b/index.mjs', 'INTEGRITY_MISMATCH']]);
    expect(existsSync(path.join(cwd, 'RAN'))).toBe(false);
  });

  it("a main inside the plugin's own node_modules is pinned: editing it after lock is refused", async () => {
    const cwd = await locked({
      'plugins/nm/package.json': '{"main": "node_modules/impl/index.mjs"}',
      'plugins/nm/node_modules/impl/index.mjs': pairPlugin('nm'),
    });
    await writeTree(cwd, { 'plugins/nm/node_modules/impl/index.mjs': W + pairPlugin('nm') });
    const check = await runCli(['check', '--json', '--log-level', 'silent'], { cwd });
    expect(codes(check.stdout)).toEqual([['plugins/nm/node_modules/impl/index.mjs', 'INTEGRITY_MISMATCH']]);
    expect(existsSync(path.join(cwd, 'RAN'))).toBe(false);
  });

  it('a helper whose name fast-glob does not return (U+2028) is pinned: editing it after lock is refused', async () => {
    const helper = '\u2028h.mjs';
    const cwd = await locked({
      [`plugins/sep/${helper}`]: 'export const type = "sep";\n',
      'plugins/sep/index.mjs': `import { type } from './${helper}';\n${pairPlugin('sep')}`,
    });
    await writeTree(cwd, { [`plugins/sep/${helper}`]: `${W}export const type = "sep";\n` });
    const check = await runCli(['check', '--json', '--log-level', 'silent'], { cwd });
    expect(codes(check.stdout)).toEqual([['plugins/sep/index.mjs', 'INTEGRITY_MISMATCH']]);
    expect(existsSync(path.join(cwd, 'RAN'))).toBe(false);
  });
});

describe('special files: refused before anything opens them, never a hang', () => {
  it.each([[[]], [['--no-cache']]])(
    'an entry that is a symlink to a FIFO in its folder: check %j ends with SPECIAL_FILE',
    async (flags) => {
      const cwd = await writeTree(await tempDir(), { 'plugins/good/index.mjs': pairPlugin('good') });
      await mkdir(path.join(cwd, 'plugins', 'fifo'));
      execFileSync('mkfifo', [path.join(cwd, 'plugins', 'fifo', 'pipe')]);
      await symlink('pipe', path.join(cwd, 'plugins', 'fifo', 'index.mjs'));
      const check = await runCli(['check', '--json', '--log-level', 'silent', ...flags], { cwd });
      expect(codes(check.stdout)).toEqual([['plugins/fifo/index.mjs', 'SPECIAL_FILE']]);
    },
  );

  it('a FIFO anywhere in a folder makes lock fail with SPECIAL_FILE, naming it', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/good/index.mjs': pairPlugin('good') });
    execFileSync('mkfifo', [path.join(cwd, 'plugins', 'good', 'queue')]);
    const lock = await runCli(['lock', '--json'], { cwd });
    expect(lock.code).toBe(1);
    expect(JSON.parse(lock.stdout)).toMatchObject({
      error: { code: 'SPECIAL_FILE', message: expect.stringContaining('plugins/good/queue') },
    });
  });

  it('a link to a character device (/dev/zero) is refused, never read forever', async () => {
    const cwd = await writeTree(await tempDir(), { 'plugins/good/index.mjs': pairPlugin('good') });
    await symlink('/dev/zero', path.join(cwd, 'plugins', 'good', 'zero'));
    const lock = await runCli(['lock', '--json'], { cwd });
    expect(JSON.parse(lock.stdout)).toMatchObject({
      error: { code: 'SPECIAL_FILE', message: expect.stringContaining('character device') },
    });
  });

  it.each(['a FIFO', 'a directory'])(
    'a lock file that is %s is CONFIG_INVALID, never "no lock" and never a hang',
    async (kind) => {
      const cwd = await locked({});
      const lockFile = path.join(cwd, 'osml-extensions.lock.json');
      await rm(lockFile);
      if (kind === 'a FIFO') execFileSync('mkfifo', [lockFile]);
      else await mkdir(lockFile);
      const check = await runCli(['check', '--json'], { cwd });
      expect(check.code).toBe(1);
      expect(JSON.parse(check.stdout)).toMatchObject({
        error: { code: 'CONFIG_INVALID', message: expect.stringContaining('osml-extensions.lock.json') },
      });
    },
  );
});

describe('a timed-out probe never keeps the process alive', () => {
  it('probe: true and a plugin whose import blocks reading a FIFO: IMPORT_TIMEOUT, and the CLI exits', async () => {
    const cwd = await writeTree(await tempDir(), {
      'osml-extensions.config.json': '{"probe": true, "importTimeoutMs": 500}',
      'plugins/good/index.mjs': pairPlugin('good'),
      'plugins/blocker/index.mjs':
        "import { readFileSync } from 'node:fs';\nreadFileSync(new URL('../../pipe', import.meta.url));\nexport default [];\n",
    });
    execFileSync('mkfifo', [path.join(cwd, 'pipe')]);
    const check = await runCli(['check', '--json', '--log-level', 'silent'], { cwd });
    expect(codes(check.stdout)).toEqual([['plugins/blocker/index.mjs', 'IMPORT_TIMEOUT']]);
    expect(check.code).toBe(1);
  });
});
