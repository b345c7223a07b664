import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Plugins carry their own tests (`init` writes one), and they are part of the suite.
    include: ['test/**/*.test.ts', 'plugins/**/*.test.ts'],
    // Plugin code must run through Node's own loader, as it does in production: import errors,
    // module identity and timing all differ when Vite transforms it.
    // A plugin's own *.test.ts is a test file like any other, so it is left to Vite.
    server: {
      deps: { external: [/\/test\/fixtures\//, /\/plugins\/(?!.*\.test\.ts$)/, /\/osml-ext-[^/]*\//, /\/dist\//] },
    },
    testTimeout: 20_000,
    reporters: process.env['CI'] === 'true' ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-report.json' },
  },
});
