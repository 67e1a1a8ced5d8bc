export {
  type LakebaseDrizzle,
  type LakebaseDrizzleOptions,
  type LakebaseUserDrizzle,
  lakebaseDrizzle,
} from './drizzle.js';
export { type LakebaseMigrationConfig, migrate } from './migrate.js';
