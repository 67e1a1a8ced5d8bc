/**
 * @lakebase-kit/core — Lakebase Autoscaling for Node: a `pg.Pool` whose password is a
 * refreshed OAuth token, and on-behalf-of users that really run as the user. The documented
 * API only; the building blocks of the ORM adapters are in `@lakebase-kit/core/adapter`.
 */

// The service principal's pool (same names as the official `@databricks/lakebase`)
export { DEFAULTS, validateEndpoint } from './config.js';
export { generateDatabaseCredential } from './credentials.js';
// permissions: roles, grants and doctor (issue 14)
export {
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  type DoctorStatus,
  runDoctor,
} from './doctor.js';
// Errors and logging
export {
  AuthenticationError,
  ClosedError,
  ConfigurationError,
  CredentialError,
  LakebaseError,
  PoolBudgetError,
  redactSecrets,
  ValidationError,
} from './errors.js';
// On-behalf-of users
export { createLakebase } from './lakebase.js';
export {
  type LakebaseConfig,
  USER_POOL_DEFAULTS,
  type UserPoolsConfig,
} from './lakebase-config.js';
export {
  consoleLogger,
  type Logger,
  type LoggerConfig,
  resolveLogger,
  silentLogger,
} from './logger.js';
export { PermissionDeniedError, RolesApiError } from './permission-errors.js';
export { getLakebaseOrmConfig, getLakebasePgConfig } from './pg-config.js';
export { LakebasePool } from './pool.js';
export {
  type AddRoleResult,
  addRole,
  type GrantSchemaOptions,
  type GrantSchemaResult,
  grantSchemaAccess,
  listRoles,
  type ProvisioningPath,
  type ProvisioningTarget,
  type RoleSummary,
} from './provisioning.js';
export {
  ACCESS_TOKEN_HEADER,
  EMAIL_HEADER,
  type RequestIdentity,
  readRequestIdentity,
  USER_HEADER,
} from './request-identity.js';
export {
  createRoleCommands,
  inferIdentityType,
  missingRoles,
  type Queryable,
  roleExists,
} from './role-lookup.js';
export {
  branchOf,
  type IdentityType,
  type LakebaseRole,
  type LakebaseRoleSpec,
  LakebaseRolesApi,
  type RoleAuthMethod,
  type RolesApiOptions,
} from './roles-api.js';
export {
  createLakebasePool,
  createWorkspaceClient,
  getUsernameWithApiLookup,
  getWorkspaceClient,
} from './service-principal.js';
// One agent-authored statement, safely (asUser(req).readOnlyQuery / singleStatementQuery)
export {
  type JsonValue,
  STATEMENT_DEFAULTS,
  type StatementOptions,
  type StatementResult,
} from './statement-runner.js';
export {
  createTokenRefreshCallback,
  type DriverTelemetry,
  type TokenRefreshDeps,
} from './token-refresh-callback.js';
export {
  type DatabaseCredential,
  type GenerateDatabaseCredentialRequest,
  type Lakebase,
  type LakebaseDoctorOptions,
  type LakebasePoolConfig,
  type LakebaseStats,
  type OrmConfig,
  type RequestedClaims,
  RequestedClaimsPermissionSet,
  type RequestedResource,
  type RequestLike,
  type SslMode,
  type TelemetryOptions,
  type TokenCacheStats,
  type UserPoolStats,
  type UserScope,
} from './types.js';
