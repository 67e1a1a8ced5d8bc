export {
  type LakebaseDrizzle,
  type LakebaseDrizzleOptions,
  type LakebaseUserDrizzle,
  lakebaseDrizzle,
} from './drizzle.js';
export { type LakebaseMigrationConfig, migrate } from './migrate.js';
export {
  type OwnerPolicyCommand,
  type OwnerPolicyGrantsOptions,
  type OwnerPolicyOptions,
  ownerPolicy,
  ownerPolicyGrants,
  type TablePrivilege,
} from './owner-rows.js';
