/**
 * `Router`: where a verified user's work runs, by `userPools.mode`. `login`: the user's own pool
 * (logged in with their token); `set-role`: the service principal's pool under the user's role;
 * `auto`: set-role for the identities the SP may `SET ROLE` to, login for the others. Handed
 * down to the scopes; it knows the pools, never the facade.
 */
import type pg from 'pg';
import type { UserPoolsMode } from '../config/lakebase-options.js';
import type { LakebasePool } from '../pool/lakebase-pool.js';
import { leaseClient } from './lease.js';
import type { Route } from './route.js';
import type { SetRoleAccess } from './set-role/set-role-access.js';
import { SetRoleRoute, type SetRoleSide } from './set-role/set-role-route.js';
import type { UserPools, VerifiedUser } from './user-pools.js';

/** A user's own login pool as a route (clients leased). */
class LoginRoute implements Route {
  readonly pool: LakebasePool;

  constructor(pool: LakebasePool) {
    this.pool = pool;
  }

  query<R extends pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text as string, values);
  }

  connect(): Promise<pg.PoolClient> {
    return this.pool.connect().then((client) => leaseClient(client, client.release));
  }
}

export interface RouterParts {
  mode: UserPoolsMode;
  /** The service principal's pools and session states, for set-role work. */
  side: SetRoleSide;
  users: UserPools;
  access: SetRoleAccess;
}

export class Router {
  readonly #mode: UserPoolsMode;
  readonly #sp: LakebasePool;
  readonly #side: SetRoleSide;
  readonly #users: UserPools;
  readonly #access: SetRoleAccess;
  /** One route object per user pool (no allocation per request). */
  readonly #logins = new WeakMap<LakebasePool, LoginRoute>();

  constructor(parts: RouterParts) {
    this.#mode = parts.mode;
    this.#sp = parts.side.sp;
    this.#side = parts.side;
    this.#users = parts.users;
    this.#access = parts.access;
  }

  /**
   * Where `user`'s work runs now. A promise only while `auto` mode asks Postgres once.
   * @throws AuthenticationError (403) when the identity is known to have no role (login)
   */
  route(user: VerifiedUser): Route | Promise<Route> {
    if (this.#mode === 'login') return this.loginRoute(user);
    if (this.#mode === 'set-role') return this.#setRole(user);
    const settled = this.#access.settled(user.identity);
    if (settled !== undefined) return settled ? this.#setRole(user) : this.loginRoute(user);
    return this.#access
      .canSetRole(user.identity)
      .then((can) => (can ? this.#setRole(user) : this.loginRoute(user)));
  }

  /**
   * The identity's own login pool, in every mode: where SQL written by someone else runs
   * (`readOnlyQuery`), since under `SET ROLE` such SQL could reset the role.
   */
  loginRoute(user: VerifiedUser): Route {
    const pool = this.#users.pool(user);
    let route = this.#logins.get(pool);
    if (!route) {
      route = new LoginRoute(pool);
      this.#logins.set(pool, route);
    }
    return route;
  }

  /** The pool a user's work runs on now, if known (for counters); no I/O. */
  currentPool(identity: string): pg.Pool | undefined {
    if (this.#mode === 'set-role') return this.#sp;
    return this.#users.current(identity) ?? this.#sp;
  }

  #setRole(user: VerifiedUser): Route {
    return new SetRoleRoute(this.#side, user.identity);
  }
}
