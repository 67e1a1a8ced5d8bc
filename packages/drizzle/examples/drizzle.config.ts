import { defineConfig } from 'drizzle-kit';

// `lakebase-kit exec -- drizzle-kit migrate` sets DATABASE_URL (and PGHOST, PGUSER, PGPASSWORD...)
// with a fresh Lakebase token for the current identity. `generate` needs no database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './examples/schema.ts',
  out: './examples/drizzle',
  schemaFilter: ['app'],
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
});
