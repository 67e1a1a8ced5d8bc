import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * The pool as Kysely's `PostgresDialect` sees it. Kysely calls `pool.end()` from
 * `kysely.destroy()`; the pools belong to the Lakebase, so `end()` never ends them — it only
 * calls `onEnd` (which forgets a per-user Kysely, or closes an owned Lakebase).
 */
export function borrowPool(
  pool: pg.Pool,
  onEnd: () => Promise<void> = async () => {},
): PostgresPool {
  return {
    connect: () => pool.connect() as Promise<PostgresPoolClient & pg.PoolClient>,
    end: onEnd,
  };
}
