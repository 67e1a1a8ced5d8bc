export { borrowPool } from './borrowed-pool.js';
export {
  type LakebaseKysely,
  type LakebaseKyselyOptions,
  type LakebaseKyselyUser,
  lakebaseKysely,
} from './kysely.js';
export type { LakebaseConfig } from './options.js';
