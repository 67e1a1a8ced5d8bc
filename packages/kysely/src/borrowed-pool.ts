import { ReplicaBehindError } from '@lakebase-kit/core';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * The pool as Kysely's `PostgresDialect` sees it. Kysely calls `pool.end()` from
 * `kysely.destroy()`; the pools belong to the Lakebase, so `end()` never ends them — it only
 * calls `onEnd` (which forgets a per-user Kysely, or closes an owned Lakebase).
 *
 * Kysely 0.29 also reads `pool.Client` and `pool.options` to open a control connection of its
 * own when it cancels a query (an aborted `signal`). We give it no `Client`, so it cancels over
 * another connection of the same pool instead — the same identity, a token from the same cache —
 * and empty `options`, so the pool's configuration (its password callback) never leaves it.
 */
export function borrowPool(
  pool: pg.Pool,
  onEnd: () => Promise<void> = async () => {},
  /** A read pool's primary: a connection there when the replica is behind this app's last write. */
  primary?: pg.Pool,
): PostgresPool {
  const connect = (): Promise<pg.PoolClient> =>
    primary
      ? pool.connect().catch((error: unknown) => {
          if (!(error instanceof ReplicaBehindError)) throw error;
          return primary.connect();
        })
      : pool.connect();
  // (a variable, not a literal: kysely 0.28's PostgresPool has no `options`, 0.29's needs it)
  const borrowed = {
    connect: connect as () => Promise<PostgresPoolClient & pg.PoolClient>,
    end: onEnd,
    options: {},
  };
  return borrowed;
}
