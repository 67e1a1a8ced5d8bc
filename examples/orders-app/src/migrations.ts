/** Migrations and seed data, applied by the service principal at every start (idempotent). */
import { fileURLToPath } from 'node:url';
import type { Lakebase } from '@lakebase-kit/core';
import { migrate } from '@lakebase-kit/drizzle';

/** SQL migrations in drizzle-kit's layout (`*.sql` + `meta/_journal.json`). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

/** The users the seed migration gives orders to. */
export const DEMO_USERS = ['alice@example.com', 'bob@example.com'] as const;

/**
 * Creates `app.orders` (RLS, grants to PUBLIC) and seeds alice's and bob's orders, as the
 * service principal — so the SP owns the table. Holds an advisory lock: two instances
 * starting at once apply each migration once.
 */
export async function runMigrations(lakebase: Lakebase): Promise<void> {
  await migrate(lakebase, { migrationsFolder: MIGRATIONS_FOLDER });
}
