import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { kyselyMigrationModule } from '../src/index.js';

export const migrationFolder = fileURLToPath(new URL('../examples/migrations', import.meta.url));

/**
 * Kysely's own Migrator (from `kysely` on 0.28, `kysely/migration` on 0.29) with a file provider
 * (the migrations are plain ESM files), its tables in schema `kysely` (the SP cannot create
 * tables in `public`).
 */
export async function migratorFor<DB>(db: Kysely<DB>) {
  const { Migrator, FileMigrationProvider } = await kyselyMigrationModule();
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder }),
    migrationTableSchema: 'kysely',
  });
}
