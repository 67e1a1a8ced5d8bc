import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // AppKit keeps process-wide singletons (service context, caches): one file per process.
    pool: 'forks',
  },
});
