/**
 * The plugin's public API (`AppKit.lakebase`) for the service principal and for one request's
 * user. AppKit types `asUser(req)` as returning the same shape as the SP exports, so the user
 * side has exactly that shape, and everything in it runs as the user — the ORM accessors too.
 * `pool`, `query`, `getPgConfig` and `getOrmConfig` answer AppKit's error classes (errors.ts);
 * the ORM accessors, which the official plugin does not have, answer core's.
 */
import type { Lakebase, OrmConfig, RequestLike, UserScope } from '@lakebase-kit/core';
import type pg from 'pg';
import { appkitAsync, appkitErrors, appkitPool } from './errors.js';
import type {
  DrizzleDb,
  KyselyHandle,
  OrmAccessors,
  PrismaClientClass,
  PrismaHandle,
} from './orm.js';

type Schema = Record<string, unknown>;
type PrismaLike = { $disconnect(): Promise<void> };

export interface LakebaseExports {
  /** A real `pg.Pool`: the service principal's, or (under `asUser(req)`) the user's. */
  pool: pg.Pool;
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  getOrmConfig(): OrmConfig;
  getPgConfig(): pg.PoolConfig;
  /** Drizzle on these pools (`@lakebase-kit/drizzle`); `.asUser(req)` for a user. */
  drizzle<TSchema extends Schema = Record<string, never>>(schema?: TSchema): DrizzleDb<TSchema>;
  /** Kysely on these pools (`@lakebase-kit/kysely`); `.withUser(req).kysely` for a user. */
  kysely<DB>(): KyselyHandle<DB>;
  /** Prisma on these pools (`@lakebase-kit/prisma`); `.withUser(req)` for a user. */
  prisma<C extends PrismaLike>(PrismaClient: PrismaClientClass<C>): PrismaHandle<C>;
  /** The underlying `Lakebase` of `@lakebase-kit/core` (stats, close...). */
  lakebase: Lakebase;
}

export function servicePrincipalExports(lakebase: Lakebase, orm: OrmAccessors): LakebaseExports {
  return {
    pool: appkitPool(lakebase.pool),
    query: (text, values) => appkitAsync(() => lakebase.query(text, values)),
    getOrmConfig: () => appkitErrors(() => lakebase.getOrmConfig()),
    getPgConfig: () => appkitErrors(() => lakebase.getPgConfig()),
    drizzle: (schema) => orm.drizzle(schema),
    kysely: () => orm.kysely(),
    prisma: (PrismaClient) => orm.prisma(PrismaClient),
    lakebase,
  };
}

/**
 * `target` with `extra` properties layered on top (a Proxy, so the adapter's cached client is
 * not modified). Methods of `target` still see `target` through the proxy.
 */
function withExtras<T extends object, E extends object>(target: T, extra: E): T & E {
  return new Proxy(target, {
    get: (t, prop, receiver) =>
      Object.hasOwn(extra, prop)
        ? (extra as Record<PropertyKey, unknown>)[prop]
        : Reflect.get(t, prop, receiver),
    has: (t, prop) => Object.hasOwn(extra, prop) || Reflect.has(t, prop),
  }) as T & E;
}

const userViews = new WeakMap<object, object>();
function cachedView<T extends object>(target: object, make: () => T): T {
  let view = userViews.get(target);
  if (!view) {
    view = make();
    userViews.set(target, view);
  }
  return view as T;
}

export function userExports(
  lakebase: Lakebase,
  orm: OrmAccessors,
  scope: UserScope,
  req: RequestLike,
): LakebaseExports {
  const noop = async (): Promise<void> => {};
  return {
    pool: appkitPool(scope.pool),
    query: (text, values) => appkitAsync(() => scope.query(text, values)),
    getOrmConfig: () => appkitErrors(() => scope.getOrmConfig()),
    getPgConfig: () => appkitErrors(() => scope.getPgConfig()),
    drizzle: (schema) => {
      const sp = orm.drizzle(schema);
      const user = sp.asUser(req);
      // Same shape as the SP database; closing is the plugin's job, not a request's.
      return cachedView(user, () =>
        withExtras(user, { asUser: sp.asUser, $lakebase: lakebase, $close: noop }),
      ) as unknown as typeof sp;
    },
    kysely: <DB>() => {
      const sp = orm.kysely<DB>();
      const user = sp.withUser(req);
      // The SP handle's shape, every database the user's: `read` is the user's replica, and
      // `direct` the user's own Kysely (a user's sessions already run on the direct host).
      return cachedView(user, () => ({
        kysely: user.kysely,
        read: user.read,
        direct: user.kysely,
        asUser: sp.asUser,
        readAsUser: sp.readAsUser,
        withUser: sp.withUser,
        lakebase,
        destroy: noop,
      })) as KyselyHandle<DB>;
    },
    prisma: (PrismaClient) => {
      const sp = orm.prisma(PrismaClient);
      const user = sp.withUser(scope);
      // The SP handle's shape: `replica()` without a request is the user's replica client.
      return cachedView(user, () => ({
        prisma: user,
        asUser: sp.asUser,
        withUser: sp.withUser,
        replica: (other?: RequestLike | UserScope) => sp.replica(other ?? scope),
        lakebase,
        $disconnect: noop,
      })) as unknown as typeof sp;
    },
    lakebase,
  };
}
