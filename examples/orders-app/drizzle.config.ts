import { defineConfig } from 'drizzle-kit';

// `pnpm drizzle:generate` writes ./drizzle from ./src/schema.ts, offline. The app applies the
// migrations itself (as its service principal) with migrate() of @lakebase-kit/drizzle.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
  schemaFilter: ['app'],
});
