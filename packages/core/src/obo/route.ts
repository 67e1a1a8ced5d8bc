/** Where a verified user's work runs: their own login pool, or the SP's pool under their role. */
import type pg from 'pg';

export interface Route {
  query<R extends pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** A leased client: dead to its holder once released (see lease.ts). */
  connect(): Promise<pg.PoolClient>;
  /** The pool the work runs on (for a scope's counters). */
  readonly pool: pg.Pool;
}
