export {
  type LakebasePrismaAdapter,
  type LakebasePrismaAdapterOptions,
  type LakebasePrismaPgOptions,
  lakebasePrismaAdapter,
  prismaPgForPool,
} from './adapter.js';
export {
  type LakebasePrisma,
  type LakebasePrismaOptions,
  lakebasePrisma,
  type PrismaClientClass,
  type PrismaClientLike,
} from './client.js';
