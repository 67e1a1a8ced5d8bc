import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // The README examples import the package by name; resolve it to this package's source.
    alias: [
      { find: /^@lakebase-kit\/core$/, replacement: source('index.ts') },
      { find: /^@lakebase-kit\/core\/admin$/, replacement: source('admin.ts') },
      { find: /^@lakebase-kit\/core\/adapter$/, replacement: source('adapter.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
