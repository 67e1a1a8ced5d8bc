/**
 * @lakebase-kit/core — Lakebase Autoscaling for Node: a `pg.Pool` whose password is a
 * refreshed OAuth token, and on-behalf-of users that really run as the user. The documented
 * runtime API: pools (the official `@databricks/lakebase` names included), on-behalf-of users,
 * ORM configs, errors and logging. Administration (doctor, roles, grants) is
 * `@lakebase-kit/core/admin`; the ORM adapters' building blocks are `@lakebase-kit/core/adapter`.
 */

// One agent-authored statement, safely (asUser(req).readOnlyQuery / singleStatementQuery)
export {
  type JsonValue,
  STATEMENT_DEFAULTS,
  type StatementOptions,
  type StatementResult,
} from './agent/statement-runner.js';
// Errors and logging
export {
  AuthenticationError,
  ClosedError,
  ConfigurationError,
  CredentialError,
  DatabaseUnavailableError,
  LakebaseError,
  OverloadedError,
  PoolBudgetError,
  PoolerSessionError,
  ReleasedClientError,
  ReplicaBehindError,
  redactSecrets,
  ValidationError,
} from './base/errors.js';
export { type ErrorResponse, errorResponse, lakebaseErrorHandler } from './base/http-errors.js';
export {
  consoleLogger,
  type Logger,
  type LoggerConfig,
  resolveLogger,
  silentLogger,
} from './base/logger.js';
// The service principal's pool (same names as the official `@databricks/lakebase`)
export {
  type DatabaseCredential,
  type GenerateDatabaseCredentialRequest,
  type LakebasePoolConfig,
  type OrmConfig,
  type RequestedClaims,
  RequestedClaimsPermissionSet,
  type RequestedResource,
  type RequestLike,
  type SslMode,
  type TelemetryOptions,
  type TokenCacheStats,
} from './base/types.js';
export {
  type LakebaseConfig,
  USER_POOL_DEFAULTS,
  type UserPoolsConfig,
} from './config/lakebase-options.js';
export { DEFAULTS, validateEndpoint } from './config/resolve-config.js';
// Scaling out: the pooled host, a read-only endpoint, the host check
export type {
  HostCheckMode,
  PoolerOptions,
  ReadConsistency,
  ReadOptions,
  ScaleOutOptions,
} from './config/scale-out.js';
// On-behalf-of users
export { createLakebase } from './lakebase.js';
export type {
  DoctorReport,
  Lakebase,
  LakebaseDoctorOptions,
  LakebaseRead,
  LakebaseStats,
  PoolCounts,
} from './lakebase-types.js';
export {
  ACCESS_TOKEN_HEADER,
  EMAIL_HEADER,
  type RequestIdentity,
  readRequestIdentity,
  USER_HEADER,
} from './obo/identity/request-identity.js';
export type { UserPoolStats, UserScope } from './obo/types.js';
export { generateDatabaseCredential } from './pool/credentials.js';
export { getLakebaseOrmConfig, getLakebasePgConfig } from './pool/external-config.js';
export type { HostRouteStats } from './pool/host-route.js';
export { LakebasePool } from './pool/lakebase-pool.js';
export type { ReplicaStats } from './pool/replica-gate.js';
export {
  createLakebasePool,
  getUsernameWithApiLookup,
  getWorkspaceClient,
} from './pool/service-principal.js';
export {
  createTokenRefreshCallback,
  type DriverTelemetry,
  type TokenRefreshDeps,
} from './pool/token-refresh-callback.js';
