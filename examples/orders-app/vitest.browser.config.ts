import { defineConfig } from 'vitest/config';

/** `pnpm test:browser` (scripts/test-browser.mjs): the page in headless Chromium. */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
