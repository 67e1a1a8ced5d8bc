import type { Lakebase, LakebaseConfig, RequestLike, UserScope } from '@lakebase-kit/core';
import { resolveAdapterLakebase, ScopedClients } from '@lakebase-kit/core/adapter';
import { Kysely, type KyselyConfig, type KyselyPlugin, PostgresDialect } from 'kysely';
import Cursor from 'pg-cursor';
import { borrowPool } from './borrowed-pool.js';

/** Options of `lakebaseKysely()`: Kysely's own options plus either `lakebase` or its config. */
export type LakebaseKyselyOptions = Partial<Omit<LakebaseConfig, 'log'>> & {
  /** Share this Lakebase's pools (never closed by `destroy()`). Default: a new one. */
  lakebase?: Lakebase;
  /** Kysely plugins, applied to the SP and every per-user Kysely. */
  plugins?: KyselyPlugin[];
  /** Kysely's query log (`['query', 'error']` or a function). `logger` is the Lakebase logger. */
  log?: KyselyConfig['log'];
};

/** One request's user: a `Kysely<DB>` whose every query and transaction runs as `identity`. */
export interface LakebaseKyselyUser<DB> {
  readonly kysely: Kysely<DB>;
  /** The same user on the read-only endpoint (created on first use). */
  readonly read: Kysely<DB>;
  readonly identity: string;
  readonly scope: UserScope;
}

export interface LakebaseKysely<DB> {
  /** `Kysely<DB>` on the service principal's pool. */
  readonly kysely: Kysely<DB>;
  /**
   * `Kysely<DB>` as the service principal on the read-only endpoint (`read` option; without
   * one, the primary): reads see this app's own writes, or run on the primary.
   */
  readonly read: Kysely<DB>;
  /**
   * `Kysely<DB>` as the service principal on the direct host (`lakebase.direct`): what needs a
   * session — Kysely's migration lock is a session advisory lock. Without a pooler, `kysely`.
   */
  readonly direct: Kysely<DB>;
  /**
   * The request's user's `Kysely<DB>` (the verb every adapter answers): every query and
   * transaction runs as the user. Cached per user scope, so cheap per request.
   */
  asUser(req: RequestLike): Kysely<DB>;
  /** The request's user's `Kysely<DB>` on the read-only endpoint (see `read`); cached per scope. */
  readAsUser(req: RequestLike): Kysely<DB>;
  /**
   * @deprecated Use `asUser(req)`, which returns the Kysely itself (`withUser(req).kysely`);
   * the identity is `lakebase.asUser(req).identity`.
   */
  withUser(req: RequestLike): LakebaseKyselyUser<DB>;
  /** The underlying Lakebase (SP pool, user pools). */
  readonly lakebase: Lakebase;
  /** Destroys the Kysely instances and closes the Lakebase if this created it; idempotent. */
  destroy(): Promise<void>;
}

/**
 * Kysely on Lakebase: `kysely` runs as the service principal; `asUser(req)` runs as the
 * request's user. Kysely never ends a pool it is given here (see `borrowPool`).
 */
export function lakebaseKysely<DB>(options: LakebaseKyselyOptions = {}): LakebaseKysely<DB> {
  const { lakebase: shared, plugins, log, ...config } = options;
  const { lakebase, owned } = resolveAdapterLakebase(shared, config);

  const make = (pool: PostgresDialectPool): Kysely<DB> =>
    new Kysely<DB>({ dialect: new PostgresDialect({ pool, cursor: Cursor }), plugins, log });

  let closing: Promise<void> | undefined;
  const closeOwned = (): Promise<void> => {
    closing ??= owned ? lakebase.close() : Promise.resolve();
    return closing;
  };

  // `kysely.destroy()` on the SP instance closes an owned Lakebase, like destroying a pool would.
  const kysely = make(borrowPool(lakebase.pool, closeOwned));

  // sessions (migrations) on the direct host when the SP's pool is on the pooler
  const direct =
    lakebase.direct === lakebase.pool ? kysely : make(borrowPool(lakebase.direct, async () => {}));

  // reads on the read-only endpoint, on the primary when the replica is behind (or absent)
  const read = lakebase.read.replica
    ? make(borrowPool(lakebase.read.pool, async () => {}, lakebase.pool))
    : kysely;

  const users = new ScopedClients<LakebaseKyselyUser<DB>>((scope) => {
    let reader: Kysely<DB> | undefined;
    const user: LakebaseKyselyUser<DB> = {
      identity: scope.identity,
      scope,
      // Destroying a per-user Kysely only forgets it; the user's pool belongs to the Lakebase.
      kysely: make(borrowPool(scope.pool, async () => users.forget(scope, user))),
      get read() {
        reader ??= lakebase.read.replica
          ? make(borrowPool(scope.read.pool, async () => users.forget(scope, user), scope.pool))
          : user.kysely;
        return reader;
      },
    };
    return user;
  });

  return {
    kysely,
    read,
    direct,
    lakebase,
    withUser: (req) => users.get(lakebase.asUser(req)),
    asUser: (req) => users.get(lakebase.asUser(req)).kysely,
    readAsUser: (req) => users.get(lakebase.asUser(req)).read,
    destroy: async () => {
      if (read !== kysely) await read.destroy();
      if (direct !== kysely) await direct.destroy();
      await kysely.destroy();
      await closeOwned();
    },
  };
}

type PostgresDialectPool = ReturnType<typeof borrowPool>;
