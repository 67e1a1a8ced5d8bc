/**
 * Shared types of @lakebase-kit/core: the contracts between its modules and the
 * public shapes that the adapters (@lakebase-kit/drizzle, kysely, prisma, appkit) bind to.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import type pg from 'pg';
import type { DoctorOptions, DoctorReport } from '../admin/doctor.js';
import type { Logger, LoggerConfig } from './logger.js';
import type { StatementOptions, StatementResult } from '../agent/statement-runner.js';

/** A Postgres credential for one identity. */
export interface Credential {
  /** The Postgres password (a Lakebase OAuth token). Never log it. */
  token: string;
  /** When the token stops being accepted. */
  expiresAt: Date;
}

/** Anything that can mint a credential for one identity (the Databricks API, or a test double). */
export interface CredentialSource {
  fetch(signal?: AbortSignal): Promise<Credential>;
}

/** Injectable time, for tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?: () => unknown } | unknown;
  clearTimeout(handle: unknown): void;
}

export interface TokenCacheStats {
  hits: number;
  misses: number;
  refreshes: number;
  failures: number;
  invalidations: number;
}

/** `{ host, port, database, username, password, ssl }` for TypeORM / Sequelize style ORMs. */
export interface OrmConfig {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string | (() => Promise<string>);
  ssl: boolean | { rejectUnauthorized: boolean; ca?: string | Buffer; servername?: string };
  [key: string]: unknown;
}

/** What `asUser(req)` accepts: Express/Node request, Fetch `Request`, or a headers object. */
export type RequestLike =
  | { headers: Record<string, string | string[] | undefined> }
  | { headers: { get(name: string): string | null } }
  | Record<string, string | string[] | undefined>;

/**
 * One request's view of a user. `pool` is a real `pg.Pool` whose every path (`query`,
 * `connect()`, later calls) runs as `identity`, never as the service principal.
 */
export interface UserScope {
  /** The Postgres role (the user's email, or the SP's id on the development fallback). */
  readonly identity: string;
  /** True when this scope is the development fallback to the service principal. */
  readonly isServicePrincipalFallback: boolean;
  readonly pool: pg.Pool;
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  getPgConfig(): pg.PoolConfig;
  getOrmConfig(): OrmConfig;
  /**
   * Runs one statement someone else wrote (an LLM agent's SQL) as this identity, read-only as
   * Postgres enforces it: one statement (extended protocol), in a READ ONLY transaction that is
   * always rolled back, with a `statement_timeout` and a row cap; JSON-safe rows. Session and
   * transaction statements and functions with lasting side effects are refused (400).
   */
  readOnlyQuery(
    text: string,
    values?: unknown[],
    options?: StatementOptions,
  ): Promise<StatementResult>;
  /**
   * The same for a statement that may write: one statement, committed, with the timeout and row
   * cap; session and transaction statements are refused. Gate it behind human approval.
   */
  singleStatementQuery(
    text: string,
    values?: unknown[],
    options?: StatementOptions,
  ): Promise<StatementResult>;
  /**
   * Called once when the `Lakebase` forgets this scope (unused for `idleTimeoutMillis`, the
   * scope cache's cap, or `close()`). Adapters use it to drop their per-scope clients. Returns
   * an unsubscribe function.
   */
  onClose(listener: () => void): () => void;
}

export interface UserPoolStats {
  pools: number;
  connections: number;
  idleConnections: number;
  peakConnections: number;
  maxConnections: number;
  /** Pools dropped by the `maxPools` cap. */
  evictions: number;
  /** Pools dropped after being empty for `idleTimeoutMillis`. */
  idleDrops: number;
  /** Idle connections closed to make room for another user's connection. */
  reclaims: number;
  waits: number;
  budgetTimeouts: number;
  verifications: number;
  verificationFailures: number;
  /** SCIM `Me` calls made to verify forwarded tokens. */
  identityLookups: number;
  /** Token owners remembered now (fingerprints, no tokens). */
  verifiedTokens: number;
  /** Databricks SDK clients built for user tokens (per token, never per request). */
  sdkClients: number;
  /** Cached `UserScope` objects. */
  scopes: number;
}

export interface LakebaseStats {
  sp: {
    totalCount: number;
    idleCount: number;
    waitingCount: number;
    token: TokenCacheStats;
  };
  users: UserPoolStats;
}

/** The facade returned by `createLakebase()`: one SP pool and the on-behalf-of user pools. */
export interface Lakebase {
  /** The service principal's pool: a real `pg.Pool`. */
  readonly pool: pg.Pool;
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  getPgConfig(): pg.PoolConfig;
  getOrmConfig(): OrmConfig;
  /** Synchronous and I/O-free for a warm user; see `UserScope`. */
  asUser(req: RequestLike): UserScope;
  /**
   * Closes the SP pool and every user pool; idempotent. Accepted work finishes first, work
   * that arrives later gets a `ClosedError`, and nothing of ours keeps the process alive.
   */
  close(): Promise<void>;
  readonly closed: boolean;
  stats(): LakebaseStats;
  /**
   * `runDoctor`'s checks as this app, with the identities `asUser(req)` has seen (plus
   * `options.identities`); a report, never a throw.
   */
  doctor(options?: LakebaseDoctorOptions): Promise<DoctorReport>;
}

/** Options of `lakebase.doctor()`. */
export type LakebaseDoctorOptions = Omit<
  DoctorOptions,
  'db' | 'config' | 'env' | 'workspaceClient'
>;

// ---------------------------------------------------------------------------
// Service-principal pool: configuration and credential API shapes (issue 3).
// Names and shapes match the official `@databricks/lakebase` package.
// ---------------------------------------------------------------------------

/** libpq `sslmode` values (see README: how each maps onto node-postgres). */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/**
 * `true`/omitted: traces and metrics on (a no-op without an OTel SDK); `false`: all off.
 * `queries`: query spans and `db.client.operation.duration`; default on, except when
 * `@opentelemetry/instrumentation-pg` has patched pg (then it already records them).
 */
export type TelemetryOptions = boolean | { traces?: boolean; metrics?: boolean; queries?: boolean };

/** The options of `createLakebasePool` (a superset of the official `LakebasePoolConfig`). */
export interface LakebasePoolConfig extends pg.PoolConfig {
  /** A Databricks SDK client; default: created once from the SDK default auth chain (env, profile). */
  workspaceClient?: WorkspaceClient;
  /** `projects/<p>/branches/<b>/endpoints/<e>`; env `LAKEBASE_ENDPOINT`. */
  endpoint?: string;
  /** libpq sslmode; env `PGSSLMODE`; default `require`. */
  sslMode?: SslMode;
  /** Root certificate file for `verify-ca`/`verify-full` (`system` = the system store); env `PGSSLROOTCERT`. */
  sslRootCert?: string;
  /** Unity Catalog claims sent with every credential request. */
  claims?: RequestedClaims[];
  /** Refresh a token this long before it expires (default 120000; half-life for short tokens). */
  refreshBufferMs?: number;
  /** Timeout of one credential API call (default: half of `connectionTimeoutMillis`, at most 30000). */
  credentialTimeoutMs?: number;
  telemetry?: TelemetryOptions;
  logger?: Logger | LoggerConfig;
  /** pg's alias of `max`, honoured when `max` is not given. */
  poolSize?: number;
}

/** What the credential API answers. */
export interface DatabaseCredential {
  /** The Postgres password. Never log it. */
  token: string;
  /** RFC 3339 UTC expiry, e.g. `2026-02-06T17:07:00Z`. */
  expire_time: string;
}

/** Permission set for Unity Catalog table access. */
export const RequestedClaimsPermissionSet = { READ_ONLY: 'READ_ONLY' } as const;
export type RequestedClaimsPermissionSet =
  (typeof RequestedClaimsPermissionSet)[keyof typeof RequestedClaimsPermissionSet];

export interface RequestedResource {
  table_name?: string;
  unspecified_resource_name?: string;
}

export interface RequestedClaims {
  permission_set?: RequestedClaimsPermissionSet;
  resources?: RequestedResource[];
}

export interface GenerateDatabaseCredentialRequest {
  endpoint: string;
  claims?: RequestedClaims[];
}
