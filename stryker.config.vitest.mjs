// The vitest config StrykerJS runs (see stryker.config.mjs): the project's own, minus the suites that
// drive the built CLI (dist/bin.js) or the shipped plugins in a subprocess or through the package's
// own name. Stryker mutates src/ only, so those suites cannot kill a mutant; they would only make
// every run (and every static mutant's run of all tests) minutes longer.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  ...base,
  plugins: [
    {
      // Stryker starts vitest with `pool: 'threads'`. Plugins are imported by Node itself, as in
      // production, and what some of them import (geotiff's web-worker) cannot load in a worker
      // thread, while module hooks (the lock's) hold for a whole process: run each test file in a
      // process of its own, as `npm test` does.
      name: 'osml-extensions:stryker-forks',
      configureVitest({ project }) {
        project.config.pool = 'forks';
      },
    },
  ],
  test: {
    ...base.test,
    exclude: [
      '**/node_modules/**',
      'test/cli/**',
      'test/examples/**',
      'test/authoring/scaffold.test.ts',
      'test/pack.test.ts',
      'test/architecture.test.ts',
      'plugins/**',
    ],
    reporters: ['default'],
    // Hands Stryker its per-test coverage under vitest 4.1 (see the file).
    setupFiles: ['test/helpers/stryker-coverage.ts'],
  },
});
