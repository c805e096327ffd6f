import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts', '**/*.test.tsx'],
    exclude: ['node_modules/**', 'build/**'],
    testTimeout: 120_000,
    pool: 'forks',
    // The end-to-end tests spawn bin/xenrr: compile the sources under test once, before any of them.
    globalSetup: ['bin/compile.mjs'],
    // Decompressed kernels (replay/image/elf-cache.ts) go under build/, not the user's cache; spawned CLIs inherit it.
    env: { XENRR_CACHE: fileURLToPath(new URL('build/cache', import.meta.url)) },
  },
});
