/**
 * Shared types of @lakebase-kit/core: the contracts between its modules and the
 * public shapes that the adapters (@lakebase-kit/drizzle, kysely, prisma, appkit) bind to.
 */
import type pg from 'pg';

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

/** One identity's token, as the pools see it (implemented by `TokenCache` in token-cache.ts). */
export interface TokenProvider {
  /** A valid token; waits on the credential source only when none is cached. */
  getToken(): Promise<string>;
  /** Forget `token` (or the current one) after the server rejected it. */
  invalidate(token?: string): void;
  /** Turn the background refresh-ahead timer on or off (user pools go lazy when idle). */
  setRefreshAhead(enabled: boolean): void;
  stats(): TokenCacheStats;
  close(): void;
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
   * Called once when this user's pool is dropped (idle, LRU eviction, close). Adapters use it
   * to drop their per-user clients. Returns an unsubscribe function.
   */
  onClose(listener: () => void): () => void;
}

export interface UserPoolStats {
  pools: number;
  connections: number;
  idleConnections: number;
  peakConnections: number;
  maxConnections: number;
  evictions: number;
  waits: number;
  budgetTimeouts: number;
  verifications: number;
  verificationFailures: number;
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

/** The facade returned by `createLakebase()`: one SP pool and one user registry. */
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
  /** Closes the SP pool and every user pool; idempotent. */
  close(): Promise<void>;
  readonly closed: boolean;
  stats(): LakebaseStats;
}
