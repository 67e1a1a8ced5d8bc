/** The on-behalf-of side's public shapes: what `asUser(req)` returns, and its counters. */
import type pg from 'pg';
import type { StatementOptions, StatementResult } from '../agent/statement-runner.js';
import type { OrmConfig } from '../base/types.js';

/**
 * One request's view of a user. `pool` is a real `pg.Pool` whose every path (`query`,
 * `connect()`, later calls) runs as `identity`, never as the service principal.
 */
export interface UserScope {
  /** The Postgres role (the user's email, or the SP's id on the development fallback). */
  readonly identity: string;
  /** True when this scope is the development fallback to the service principal. */
  readonly isServicePrincipalFallback: boolean;
  /**
   * True once the request's token is known to belong to `identity` (no I/O: the first use of
   * the scope verifies it). Until then `identity` is only what the headers claim, so nothing
   * may be served from a cache keyed on it. The development fallback is always verified.
   */
  readonly isVerified: boolean;
  readonly pool: pg.Pool;
  /**
   * The same identity on the read-only endpoint (`read` option), with the same token and
   * identity rules: its reads see this app's own writes (read-your-writes) or run on the
   * primary. Without a read-only endpoint it is this scope.
   */
  readonly read: UserScope;
  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg
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
  /** Verifications refused at once (503) because too many were in flight and waiting. */
  verificationsRefused: number;
  /** Token owners remembered now (fingerprints, no tokens). */
  verifiedTokens: number;
  /** Databricks SDK clients built for user tokens (per token, never per request). */
  sdkClients: number;
  /** Cached `UserScope` objects. */
  scopes: number;
}
