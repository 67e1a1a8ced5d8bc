export { borrowPool } from './borrowed-pool.js';
export {
  type LakebaseKysely,
  type LakebaseKyselyOptions,
  type LakebaseKyselyUser,
  lakebaseKysely,
} from './kysely.js';
