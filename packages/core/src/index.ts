// biome-ignore-all assist/source/organizeImports: two blocks with separate owners (service principal, on-behalf-of), each sorted on its own
/**
 * @lakebase-kit/core — Lakebase Autoscaling for Node: a `pg.Pool` whose password is a
 * refreshed OAuth token. Public entry; adapters import only from here.
 */

// service principal (issue 3)
export {
  createWorkspaceClient,
  DEFAULTS,
  getUsernameWithApiLookup,
  getWorkspaceClient,
  isPgInstrumented,
  type ResolvedConfig,
  type ResolvedPoolOptions,
  resolveConfig,
  resolveUser,
  validateEndpoint,
} from './config.js';
export {
  type CredentialCallOptions,
  generateDatabaseCredential,
  validateCredentialResponse,
  workspaceCredentialSource,
} from './credentials.js';
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
export {
  consoleLogger,
  type Logger,
  type LoggerConfig,
  resolveLogger,
  silentLogger,
} from './logger.js';
export { getLakebaseOrmConfig, getLakebasePgConfig } from './pg-config.js';
export {
  type BuildPoolOptions,
  buildLakebasePool,
  createLakebasePool,
  isAuthError,
  isWakeError,
  lakebaseClientClass,
  lakebasePoolConfig,
  servicePrincipalTokens,
} from './pool.js';
export {
  ATTR_POOL_NAME,
  createTelemetry,
  flushTelemetry,
  INSTRUMENTATION_SCOPE,
  type QueryTarget,
  type QueryTracer,
  type QueryRecorder,
  type Telemetry,
} from './telemetry.js';
export { realClock, TokenCache, type TokenCacheOptions } from './token-cache.js';
export {
  type Clock,
  type Credential,
  type CredentialSource,
  type DatabaseCredential,
  type GenerateDatabaseCredentialRequest,
  type Lakebase,
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
  type TokenProvider,
  type UserPoolStats,
  type UserScope,
} from './types.js';

// on-behalf-of

export { ConnectionBudget, type ConnectionBudgetStats } from './connection-budget.js';
export {
  createLakebase,
  type LakebaseInstance,
  type LakebaseInstanceStats,
  type OboUserStats,
} from './lakebase.js';
export {
  type LakebaseConfig,
  USER_POOL_DEFAULTS,
  type UserPoolsConfig,
} from './lakebase-config.js';
export {
  ACCESS_TOKEN_HEADER,
  EMAIL_HEADER,
  type RequestIdentity,
  readRequestIdentity,
  USER_HEADER,
} from './request-identity.js';
export { ScopedPool } from './scoped-pool.js';
export { tokenFingerprint } from './user-clients.js';

// adapter support (used by @lakebase-kit/drizzle, kysely, prisma)
export { resolveAdapterLakebase, ScopeCache } from './adapter-support.js';
