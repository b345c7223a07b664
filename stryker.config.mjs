// StrykerJS: mutation testing of the loader's core and the runner's stages (issue 14).
// Run with `npm run mutate` (not in CI: it takes long); docs/testing.md records the score.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  // Only the suites that run the mutated code in-process: see stryker.config.vitest.mjs.
  vitest: { configFile: 'stryker.config.vitest.mjs', related: true },
  checkers: ['typescript'],
  // The build's config (src/ only): whether a mutant compiles is the source's question; the tests,
  // which others edit all the time, are type-checked by `npm run typecheck`.
  tsconfigFile: 'tsconfig.build.json',
  coverageAnalysis: 'perTest',
  // The machine has 2 cores, shared.
  concurrency: 2,
  mutate: [
    // The loader's core: discover → vet → lock → cache → load, the manifest and registry, resolve and
    // instantiate, and the config.
    'src/boot/discover.ts',
    'src/boot/vet.ts',
    'src/boot/lock.ts',
    'src/boot/cache.ts',
    'src/boot/load.ts',
    'src/plugin/manifest.ts',
    'src/plugin/registry.ts',
    'src/select/resolve.ts',
    'src/select/instantiate.ts',
    'src/config.ts',
    // The runner's stages: tiling, geolocation, NMS and the model-output reader.
    'src/runner/tile.ts',
    'src/runner/geolocate.ts',
    'src/runner/dedupe.ts',
    'src/runner/model-output.ts',
  ],
  ignorePatterns: ['/out', '/coverage', '/bench/results.json', '.vitest-report.json'],
  tempDirName: '.stryker-tmp',
  // Plugins are imported for real (file system, module loader): leave room on a busy machine.
  timeoutMS: 10_000,
  dryRunTimeoutMinutes: 10,
  thresholds: { high: 90, low: 80, break: 80 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // `npm run mutate -- --incremental` reuses the results of mutants and tests that did not change.
  incrementalFile: 'reports/mutation/stryker-incremental.json',
};
