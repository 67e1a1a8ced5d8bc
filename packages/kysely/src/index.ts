export { borrowPool } from './borrowed-pool.js';
export {
  type LakebaseKysely,
  type LakebaseKyselyOptions,
  type LakebaseKyselyUser,
  lakebaseKysely,
} from './kysely.js';
export {
  type KyselyMigration,
  type KyselyMigrationModule,
  type KyselyMigrationProvider,
  type KyselyMigrator,
  kyselyMigrationModule,
  type MigrateOptions,
  type MigrationResult,
  migrate,
} from './migrate.js';
