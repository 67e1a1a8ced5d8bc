import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMigrationProvider, type Kysely, Migrator } from 'kysely';

export const migrationFolder = fileURLToPath(new URL('../examples/migrations', import.meta.url));

/**
 * Kysely's own Migrator with a file provider (the migrations are plain ESM files), its tables in
 * schema `kysely` (the SP cannot create tables in `public`).
 */
export function migratorFor<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder }),
    migrationTableSchema: 'kysely',
  });
}
