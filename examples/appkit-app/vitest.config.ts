import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // AppKit keeps process-wide singletons (service context, caches) and signal handlers:
    // one file per process.
    pool: 'forks',
  },
});
