/**
 * Shared types of @lakebase-kit/core: the contracts between its modules and the
 * public shapes that the adapters (@lakebase-kit/drizzle, kysely, prisma, appkit) bind to.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import type pg from 'pg';
import type { Logger, LoggerConfig } from './logger.js';

/**
 * Anything with `query()`: a `Lakebase`, a `pg.Pool`, a `pg.Client` or a pool client. What the
 * doctor, provisioning and the SP-side lookups need of a connection.
 */
export interface Queryable {
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the query returns
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

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
  /** A `Headers` object itself (fetch, Hono, Next.js route handlers). */
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

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
export type TelemetryOptions =
  | boolean
  | { traces?: boolean; metrics?: boolean; queries?: boolean; names?: TelemetryNames };

/**
 * The names of spans and instruments: `official` (default) — those of `@databricks/lakebase`
 * (`lakebase.query.duration` in ms, `lakebase.pool.connections.*`, `lakebase.pool.errors`,
 * `lakebase.token.refresh.duration`, span `lakebase.query`), so dashboards keep working after
 * the swap; `semconv` — the OpenTelemetry database semantic conventions
 * (`db.client.operation.duration` in s, `db.client.connection.*`); `both`.
 */
export type TelemetryNames = 'official' | 'semconv' | 'both';

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
