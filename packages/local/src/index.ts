/**
 * `@lakebase-kit/local`: the emulator. Test helpers are at `@lakebase-kit/local/testing`, the
 * `lakebase-kit dev` env file's helpers at `@lakebase-kit/local/dev-env`.
 */

export type {
  BranchCreateOptions,
  LocalBranch,
  LocalBranches,
} from './base/branch-handle-types.js';
export { BranchHistoryError } from './base/branch-types.js';
export type {
  HostEnv,
  LocalPooler,
  LocalReplica,
  PoolerOptions,
  PoolerPool,
} from './base/scale-types.js';
export type {
  ConnectionStats,
  CredentialFault,
  LocalFaults,
  LocalLakebase,
  LocalLakebaseEnv,
  LocalLakebaseOptions,
  LocalStats,
  LocalTls,
  MalformedMode,
  PgCredential,
  ProjectPermission,
  ServicePrincipal,
  SuspendOptions,
} from './base/types.js';
export { startLocalLakebase } from './local-lakebase.js';
export { PGBOUNCER_ENV, PoolerUnavailableError } from './postgres/pgbouncer/binary.js';
export { CACHE_DIR_ENV } from './postgres/runtime/staging.js';
export { PostgresStartError, type PostgresStartProblem } from './postgres/start-error.js';
