import type { Lakebase } from '@lakebase-kit/core';
import type { MigrationConfig } from 'drizzle-orm/migrator';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';

export interface LakebaseMigrationConfig extends MigrationConfig {
  /**
   * Name of the Postgres advisory lock held while migrating (hashed to a bigint).
   * Default: `lakebase-kit:drizzle:<migrationsSchema>.<migrationsTable>`.
   */
  lockName?: string;
}

/**
 * Applies drizzle migrations as the service principal, so the SP owns what they create.
 * Holds a session-level advisory lock on one SP connection for the whole run: safe on every
 * start, and two instances starting at once apply each migration exactly once.
 */
export async function migrate(
  db: { readonly $lakebase: Lakebase } | Lakebase,
  config: LakebaseMigrationConfig,
): Promise<void> {
  const lakebase = '$lakebase' in db ? db.$lakebase : db;
  const { lockName, ...migrationConfig } = config;
  const lock =
    lockName ??
    `lakebase-kit:drizzle:${config.migrationsSchema ?? 'drizzle'}.${config.migrationsTable ?? '__drizzle_migrations'}`;

  // the direct host: a session advisory lock needs a session (the pooler, if any, keeps none)
  const client = await lakebase.direct.connect();
  let broken: unknown;
  try {
    await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [lock]);
    try {
      // Bound to the locked client: the lock and the migrations share one session.
      await drizzleMigrate(drizzle({ client }), migrationConfig);
    } finally {
      await client
        .query('select pg_advisory_unlock(hashtextextended($1, 0))', [lock])
        .catch((error: unknown) => {
          broken = error;
        });
    }
  } catch (error) {
    broken ??= error;
    throw error;
  } finally {
    // A session whose unlock failed may still hold the lock: destroy it rather than reuse it.
    client.release(broken !== undefined ? true : undefined);
  }
}
