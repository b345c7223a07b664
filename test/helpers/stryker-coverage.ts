/**
 * A vitest setup file for `npm run mutate` only (stryker.config.vitest.mjs lists it; StrykerJS puts
 * its own setup file first). Vitest 4.1 passes `afterAll` hooks `(context, suite)` where 4.0 passed
 * `(suite)`, so the setup file of @stryker-mutator/vitest-runner 9.4 (the last line for Node 20)
 * writes its per-test coverage and hit count to the wrong object and Stryker sees none: every mutant
 * then runs every test. This hands both to the file's suite, as vitest-runner 9.6.1 does (#5928).
 */
import { afterAll, inject } from 'vitest';

interface StrykerGlobal {
  mutantCoverage?: unknown;
  hitCount?: number;
}

const ns = (globalThis as Record<string, unknown>)['__stryker__'] as StrykerGlobal | undefined;
const mode = (inject as (key: string) => unknown)('mode');

// Vitest reads the hook's first parameter to find the fixtures it uses: it must be a pattern.
// eslint-disable-next-line no-empty-pattern
afterAll(({}, suite) => {
  if (ns === undefined) return;
  const meta = suite.meta as Record<string, unknown>;
  if (mode === 'mutant') meta['hitCount'] = ns.hitCount;
  else meta['mutantCoverage'] = ns.mutantCoverage;
});
