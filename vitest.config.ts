import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Plugin code must run through Node's own loader, as it does in production: import errors,
    // module identity and timing all differ when Vite transforms it.
    server: { deps: { external: [/\/test\/fixtures\//, /\/plugins\//, /\/osml-ext-[^/]*\//, /\/dist\//] } },
    testTimeout: 20_000,
    reporters: process.env['CI'] === 'true' ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-report.json' },
  },
});
