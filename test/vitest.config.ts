import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 120_000,
    // pack.test.ts installs the packed packages with npm in beforeAll (about a minute).
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
