import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts', '**/*.test.tsx'],
    exclude: ['node_modules/**', 'build/**'],
    testTimeout: 120_000,
    pool: 'forks',
    // The end-to-end tests spawn bin/xenrr: compile the sources under test once, before any of them.
    globalSetup: ['bin/compile.mjs'],
  },
});
