/**
 * @lakebase-kit/core — Lakebase Autoscaling for Node: a `pg.Pool` whose password is a
 * refreshed OAuth token, and on-behalf-of users that really run as the user. The documented
 * API only; the building blocks of the ORM adapters are in `@lakebase-kit/core/adapter`.
 */

// The service principal's pool (same names as the official `@databricks/lakebase`)
export { DEFAULTS, validateEndpoint } from './config/resolve-config.js';
export { generateDatabaseCredential } from './pool/credentials.js';
// permissions: roles, grants and doctor (issue 14)
export {
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  type DoctorStatus,
  runDoctor,
} from './admin/doctor.js';
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
} from './base/errors.js';
// On-behalf-of users
export { createLakebase } from './lakebase.js';
export {
  type LakebaseConfig,
  USER_POOL_DEFAULTS,
  type UserPoolsConfig,
} from './config/lakebase-options.js';
export {
  consoleLogger,
  type Logger,
  type LoggerConfig,
  resolveLogger,
  silentLogger,
} from './base/logger.js';
export { PermissionDeniedError, RolesApiError } from './admin/permission-errors.js';
export { getLakebaseOrmConfig, getLakebasePgConfig } from './pool/pg-config.js';
export { LakebasePool } from './pool/lakebase-pool.js';
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
} from './admin/provisioning.js';
export {
  ACCESS_TOKEN_HEADER,
  EMAIL_HEADER,
  type RequestIdentity,
  readRequestIdentity,
  USER_HEADER,
} from './obo/identity/request-identity.js';
export {
  createRoleCommands,
  inferIdentityType,
  missingRoles,
  type Queryable,
  roleExists,
} from './admin/role-lookup.js';
export {
  branchOf,
  type IdentityType,
  type LakebaseRole,
  type LakebaseRoleSpec,
  LakebaseRolesApi,
  type RoleAuthMethod,
  type RolesApiOptions,
} from './admin/roles-api.js';
export {
  createLakebasePool,
  createWorkspaceClient,
  getUsernameWithApiLookup,
  getWorkspaceClient,
} from './pool/service-principal.js';
// One agent-authored statement, safely (asUser(req).readOnlyQuery / singleStatementQuery)
export {
  type JsonValue,
  STATEMENT_DEFAULTS,
  type StatementOptions,
  type StatementResult,
} from './agent/statement-runner.js';
export {
  createTokenRefreshCallback,
  type DriverTelemetry,
  type TokenRefreshDeps,
} from './pool/token-refresh-callback.js';
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
} from './base/types.js';
