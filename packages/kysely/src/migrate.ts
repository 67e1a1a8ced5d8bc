import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import * as kyselyMain from 'kysely';

/** One migration, as Kysely takes it: `up` (and `down`) get a `Kysely<any>`. */
export interface KyselyMigration {
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own Migration type takes Kysely<any>
  up(db: Kysely<any>): Promise<void>;
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own Migration type takes Kysely<any>
  down?(db: Kysely<any>): Promise<void>;
}

/** What Kysely's `MigrationProvider` is: something that lists the migrations by name. */
export interface KyselyMigrationProvider {
  getMigrations(): Promise<Record<string, KyselyMigration>>;
}

export interface MigrateOptions {
  /** A folder of migration files (`.js`/`.mjs`, each exporting `up` and `down`). */
  migrationFolder?: string;
  /** Or the migrations themselves, by name (applied in name order). */
  migrations?: Record<string, KyselyMigration>;
  /** Or any Kysely `MigrationProvider`. Exactly one of the three. */
  provider?: KyselyMigrationProvider;
  /**
   * Schema of Kysely's bookkeeping tables (default `kysely`): on Lakebase the service principal
   * may create schemas but not tables in `public`, which the project owner owns.
   */
  migrationTableSchema?: string;
}

/** One applied (or failed) migration, as Kysely's `migrateToLatest()` reports it. */
export interface MigrationResult {
  migrationName: string;
  direction: 'Up' | 'Down';
  status: 'Success' | 'Error' | 'NotExecuted';
}

export interface KyselyMigrator {
  migrateToLatest(): Promise<{ error?: unknown; results?: MigrationResult[] }>;
}

/** Kysely's `Migrator` and `FileMigrationProvider` classes, as far as `migrate()` uses them. */
export interface KyselyMigrationModule {
  Migrator: new (props: {
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Migrator takes Kysely<any>
    db: Kysely<any>;
    provider: KyselyMigrationProvider;
    migrationTableSchema?: string;
  }) => KyselyMigrator;
  FileMigrationProvider: new (props: {
    fs: typeof fs;
    path: typeof path;
    migrationFolder: string;
  }) => KyselyMigrationProvider;
}

/**
 * Kysely's `Migrator`: exported by `kysely` up to 0.28, by `kysely/migration` from 0.29 on
 * (which 0.28 does not have). The specifier is a variable so that neither bundlers nor the
 * type checker of a 0.28 install look for it.
 */
export async function kyselyMigrationModule(): Promise<KyselyMigrationModule> {
  const main = kyselyMain as unknown as Partial<KyselyMigrationModule>;
  if (typeof main.Migrator === 'function' && typeof main.FileMigrationProvider === 'function') {
    return main as KyselyMigrationModule;
  }
  const subpath = 'kysely/migration';
  return (await import(subpath)) as KyselyMigrationModule;
}

/**
 * Applies every pending migration with Kysely's own `Migrator`, on `db` — pass the
 * `lakebaseKysely()` object (or the service principal's `kysely`) so that the SP owns what the
 * migrations create; given the object, it migrates on the direct host (`direct`), since Kysely's
 * migration lock is a session advisory lock and Lakebase's pooled host keeps no session. Kysely's migrator takes that lock
 * (and keeps its `kysely_migration_lock` table): two instances starting at once apply each migration
 * once. Resolves with what ran; throws the failing migration's error (that migration and the
 * ones after it are not applied).
 */
export async function migrate(
  // biome-ignore lint/suspicious/noExplicitAny: any Kysely<DB> migrates
  target: Kysely<any> | { readonly direct: Kysely<any> },
  options: MigrateOptions,
): Promise<MigrationResult[]> {
  // a lakebaseKysely(): its direct host (Kysely's migration lock is a session advisory lock,
  // which a pooler does not keep)
  const db = 'direct' in target ? target.direct : target;
  const given = [options.migrationFolder, options.migrations, options.provider].filter(
    (option) => option !== undefined,
  );
  if (given.length !== 1) {
    throw new TypeError(
      'migrate(db, options): give exactly one of migrationFolder, migrations or provider',
    );
  }
  const { Migrator, FileMigrationProvider } = await kyselyMigrationModule();
  const migrations = options.migrations;
  const provider: KyselyMigrationProvider =
    options.provider ??
    (migrations
      ? { getMigrations: async () => migrations }
      : new FileMigrationProvider({ fs, path, migrationFolder: options.migrationFolder! }));
  const migrator = new Migrator({
    db,
    provider,
    migrationTableSchema: options.migrationTableSchema ?? 'kysely',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
  return results ?? [];
}
