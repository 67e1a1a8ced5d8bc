import type { Lakebase, LakebaseConfig, RequestLike, UserScope } from '@lakebase-kit/core';
import { resolveAdapterLakebase, ScopedClients } from '@lakebase-kit/core/adapter';
import type { DrizzleConfig } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { withReplicas } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { UserCache } from './user-cache.js';

type Schema = Record<string, unknown>;

/** Options of `lakebaseDrizzle()`: Drizzle's own options plus either `lakebase` or its config. */
export type LakebaseDrizzleOptions<TSchema extends Schema = Record<string, never>> = Omit<
  DrizzleConfig<TSchema>,
  'logger'
> &
  Partial<LakebaseConfig> & {
    /** Share this Lakebase's pools (it is never closed by `$close()`). Default: a new one. */
    lakebase?: Lakebase;
    /** Drizzle's query logger (`true` logs SQL to the console). `logger` is the Lakebase logger. */
    queryLogger?: DrizzleConfig<TSchema>['logger'];
    /**
     * Reads (`select`, `$count`, `with`, relational `query`) on the Lakebase's read-only endpoint
     * through Drizzle's `withReplicas`, writes and transactions on the primary (default true;
     * without a read-only endpoint everything runs on the primary). Reads see the app's own
     * writes unless the Lakebase's `read.consistency` is `eventual`.
     */
    replicas?: boolean;
  };

/** A Drizzle database running every query and transaction as one user. */
export type LakebaseUserDrizzle<TSchema extends Schema = Record<string, never>> =
  NodePgDatabase<TSchema> & {
    $client: pg.Pool;
    /** The user scope this database is bound to. */
    readonly $scope: UserScope;
  };

/** A Drizzle database on the service principal's pool, plus `asUser(req)`. */
export type LakebaseDrizzle<TSchema extends Schema = Record<string, never>> =
  NodePgDatabase<TSchema> & {
    $client: pg.Pool;
    /** The same typed database bound to the request's user (cached per user scope). */
    asUser(req: RequestLike): LakebaseUserDrizzle<TSchema>;
    /** The underlying Lakebase (SP pool, user pools). */
    readonly $lakebase: Lakebase;
    /** Closes the Lakebase if this database created it; a shared one is left open. */
    $close(): Promise<void>;
  };

/**
 * Drizzle (`drizzle-orm/node-postgres`) on Lakebase: the returned database runs as the service
 * principal; `db.asUser(req)` returns the same typed database running as the request's user.
 */
export function lakebaseDrizzle<TSchema extends Schema = Record<string, never>>(
  options: LakebaseDrizzleOptions<TSchema> = {},
): LakebaseDrizzle<TSchema> {
  const { lakebase: shared, schema, casing, cache, queryLogger, replicas, ...config } = options;
  const { lakebase, owned } = resolveAdapterLakebase(shared, config);
  const drizzleConfig: DrizzleConfig<TSchema> = { schema, casing, cache, logger: queryLogger };
  const onReplica = replicas !== false && lakebase.read.replica;
  /** Drizzle on `pool`, with its reads on `readPool` when the app has a read-only endpoint. */
  const database = (pool: pg.Pool, readPool: pg.Pool, config: DrizzleConfig<TSchema>) => {
    const primary = drizzle({ ...config, client: pool });
    return onReplica ? withReplicas(primary, [drizzle({ ...config, client: readPool })]) : primary;
  };

  // Each user's database gets its own key space in the app's cache: RLS makes the same SQL
  // return other rows for another user, so a shared key would serve bob alice's rows.
  const users = new ScopedClients<LakebaseUserDrizzle<TSchema>>(
    (scope) =>
      Object.defineProperty(
        database(scope.pool, scope.read.pool, {
          ...drizzleConfig,
          cache: cache && new UserCache(cache, scope),
        }),
        '$scope',
        { value: scope, enumerable: false },
      ) as LakebaseUserDrizzle<TSchema>,
  );

  const db = database(lakebase.pool, lakebase.read.pool, drizzleConfig);
  let closing: Promise<void> | undefined;
  return Object.defineProperties(db, {
    asUser: { value: (req: RequestLike) => users.get(lakebase.asUser(req)), enumerable: false },
    $lakebase: { value: lakebase, enumerable: false },
    $close: {
      value: (): Promise<void> => {
        closing ??= owned ? lakebase.close() : Promise.resolve();
        return closing;
      },
      enumerable: false,
    },
  }) as LakebaseDrizzle<TSchema>;
}
