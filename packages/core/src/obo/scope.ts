/**
 * What `asUser(req)` returns: a `UserScope` (`query`, `pool`, `getPgConfig`, `getOrmConfig`,
 * the agent's statements) that runs as one verified identity, and the development fallback's
 * scope. A scope does nothing on creation: its first use waits for the token to be verified,
 * then runs where the `Router` says. It retains nothing per query; every client it hands out is
 * leased (dead once released).
 */
import type pg from 'pg';
import {
  runStatement,
  type StatementOptions,
  type StatementResult,
} from '../agent/statement-runner.js';
import { systemClock } from '../base/clock.js';
import { AuthenticationError, ValidationError } from '../base/errors.js';
import { roleNameProblem } from '../base/role-name.js';
import type { OrmConfig } from '../base/types.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { IdentityPgConfigSource } from '../pool/external-config.js';
import { toOrmConfig } from '../pool/external-config.js';
import type { LakebasePool } from '../pool/lakebase-pool.js';
import { lakebasePoolConfig } from '../pool/pool-options.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { Admission } from './admission.js';
import { type IdentityVerifier, roleOf } from './identity/token-owner.js';
import { leaseClient } from './lease.js';
import { type ReadContext, ReadScope } from './read-scope.js';
import type { Route } from './route.js';
import type { Router } from './router.js';
import { type ScopeCache, scopeKey } from './scope-cache.js';
import { type ScopeConnections, ScopePool } from './scope-pool.js';
import type { UserScope } from './types.js';
import type { UserPools, VerifiedUser } from './user-pools.js';

/** What a scope needs from the `Lakebase` that made it (all of it passed down, nothing up). */
export interface ScopeContext {
  config: ResolvedConfig;
  /** Options the scope's `pg.Pool` view reports (`pool.options`); no password. */
  viewOptions: pg.PoolConfig;
  admission: Admission;
  verifier: IdentityVerifier;
  users: UserPools;
  telemetry: Telemetry;
  router: Router;
  /** Where verified scopes are kept (a scope adopts itself once its token is verified). */
  scopes: ScopeCache<UserScopeImpl>;
  /** The read-only endpoint's side (`read` option), if there is one. */
  read?: ReadContext;
}

type Listener = () => void;

/** The parts shared by user scopes and the development fallback. */
abstract class BaseScope implements UserScope, ScopeConnections {
  abstract readonly identity: string;
  abstract readonly isServicePrincipalFallback: boolean;
  abstract readonly isVerified: boolean;
  #pool: ScopePool | undefined;
  #listeners: Set<Listener> | undefined;
  #dropped = false;

  /** The shared pool this scope runs on now (for its pool view's counters). */
  abstract sharedPool(): pg.Pool | undefined;
  /** A leased client of the pool this scope runs on (its pool view's `connect()`). */
  abstract checkout(): Promise<pg.PoolClient>;
  /** A leased client logged in as this scope's identity (for statements of others). */
  abstract loginCheckout(): Promise<pg.PoolClient>;
  /** The options its pool view reports (`pool.options`). */
  abstract viewOptions(): pg.PoolConfig;
  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  abstract query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  abstract getPgConfig(): pg.PoolConfig;

  /** A real `pg.Pool` whose every path runs as this scope's identity (created on first use). */
  get pool(): pg.Pool {
    this.#pool ??= new ScopePool(this.viewOptions(), this);
    return this.#pool;
  }

  /** This scope on the read-only endpoint; itself when there is none. */
  get read(): UserScope {
    return this;
  }

  getOrmConfig(): OrmConfig {
    const config = this.getPgConfig();
    return toOrmConfig(config, config.user, 'getOrmConfig');
  }

  readOnlyQuery(
    text: string,
    values?: unknown[],
    options: StatementOptions = {},
  ): Promise<StatementResult> {
    return runStatement(() => this.loginCheckout(), text, values, { ...options, readOnly: true });
  }

  singleStatementQuery(
    text: string,
    values?: unknown[],
    options: StatementOptions = {},
  ): Promise<StatementResult> {
    return runStatement(() => this.loginCheckout(), text, values, { ...options, readOnly: false });
  }

  onClose(listener: Listener): () => void {
    if (this.#dropped) {
      queueMicrotask(() => safeCall(listener));
      return () => {};
    }
    this.#listeners ??= new Set();
    this.#listeners.add(listener);
    return () => {
      this.#listeners?.delete(listener);
    };
  }

  /** True once `scope.pool.end()` was called: the cache hands out a fresh scope instead. */
  get isPoolEnded(): boolean {
    return this.#pool?.ending === true;
  }

  /** True once the cache forgot this scope (or the `Lakebase` closed). */
  get isDropped(): boolean {
    return this.#dropped;
  }

  /** Fires the `onClose` listeners once. */
  drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    const listeners = this.#listeners ? [...this.#listeners] : [];
    this.#listeners = undefined;
    for (const listener of listeners) safeCall(listener);
  }
}

/** What a request claims: an identity (from `x-forwarded-email`, else `x-forwarded-user`) and a token. */
export interface ClaimedUser {
  claimed: string;
  fromEmailHeader: boolean;
  token: string;
  fingerprint: string;
}

/** A verified user's scope: everything runs on that user's pool. */
export class UserScopeImpl extends BaseScope {
  readonly isServicePrincipalFallback = false;
  readonly #ctx: ScopeContext;
  readonly #claim: ClaimedUser;
  /** The verified user (the role settled from the token's owner); until then, the claim's. */
  #user: VerifiedUser;
  #settled: boolean;
  #pgConfig: pg.PoolConfig | undefined;
  #read: UserScope | undefined;

  /** `role`: the settled Postgres role when the token's owner is known already. */
  constructor(ctx: ScopeContext, claim: ClaimedUser, role?: string) {
    super();
    this.#ctx = ctx;
    this.#claim = claim;
    this.#settled = role !== undefined;
    this.#user = {
      identity: role ?? claim.claimed,
      token: claim.token,
      fingerprint: claim.fingerprint,
    };
  }

  /**
   * The Postgres role: the email the request names, or, with only `x-forwarded-user`, the token
   * owner's (known once the token is verified; until then the claimed id).
   */
  get identity(): string {
    return this.#user.identity;
  }

  get fingerprint(): string {
    return this.#user.fingerprint;
  }

  /** True once the token is known to belong to the identity (no I/O). */
  get isVerified(): boolean {
    return (
      this.#settled && this.#ctx.verifier.isVerified(this.#claim.claimed, this.#claim.fingerprint)
    );
  }

  /** Makes this scope's token the one the identity's next credential fetch uses. */
  offerToken(): void {
    this.#ctx.users.offer(this.#user);
  }

  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#run((route) => route.query<R>(text, values));
  }

  override get read(): UserScope {
    const read = this.#ctx.read;
    if (!read) return this;
    this.#read ??= new ReadScope(this, read);
    return this.#read;
  }

  /** `work` as this identity, routed by `router` (the read-only endpoint's, for `read`). */
  runOn<T>(router: Router, work: (route: Route) => Promise<T>, login = false): Promise<T> {
    return this.#run(work, login, router);
  }

  getPgConfig(): pg.PoolConfig {
    this.#pgConfig ??= this.pgConfigOn(this.#ctx);
    return this.#pgConfig;
  }

  /** A login config as this identity on the endpoint of `side` (the primary's or the read one's). */
  pgConfigOn(side: Pick<ScopeContext, 'config' | 'users' | 'viewOptions'>): pg.PoolConfig {
    if (!this.#settled && !this.#claim.fromEmailHeader) {
      // a login config names the role, which only the verified token's owner can tell here
      throw new ValidationError(
        'getPgConfig() needs the Postgres role, and this request names its user only by ' +
          "x-forwarded-user (a numeric id): the role is the token owner's name, known once the " +
          "token is verified. Run a statement through the scope first (await scope.query('select 1')), " +
          'or have the request carry x-forwarded-email',
      );
    }
    const { config, users, viewOptions } = side;
    return lakebasePoolConfig({
      config,
      poolName: 'lakebase:user',
      userName: this.identity,
      passwords: {
        isToken: true,
        password: (deadline) => this.#run(() => users.token(this.#user, deadline)),
      },
      telemetry: this.#ctx.telemetry,
      logger: config.logger,
      clock: systemClock,
      slots: users.budget,
      max: viewOptions.max,
      idleTimeoutMillis: viewOptions.idleTimeoutMillis ?? undefined,
    }).poolConfig;
  }

  sharedPool(): pg.Pool | undefined {
    return this.isVerified ? this.#ctx.router.currentPool(this.identity) : undefined;
  }

  checkout(): Promise<pg.PoolClient> {
    return this.#run((route) => route.connect());
  }

  loginCheckout(): Promise<pg.PoolClient> {
    return this.#run((route) => route.connect(), true);
  }

  viewOptions(): pg.PoolConfig {
    return { ...this.#ctx.viewOptions, user: this.identity };
  }

  /** The role from the verified token's owner, checked as every role name is. */
  #settle(role: string): void {
    if (this.#settled) return;
    const problem = roleNameProblem(role);
    if (problem) {
      throw new AuthenticationError(
        `The token owner's name cannot be a Postgres role: ${problem}`,
        {
          status: 403,
        },
      );
    }
    this.#user = { ...this.#user, identity: role };
    this.#settled = true;
  }

  /**
   * Waits until the token is verified, then starts `work` where the identity's work runs, all
   * while admitted: `close()` lets it reach the pool (which then lets it finish). A verified
   * token with a known route starts `work` at once (the hot path: no await).
   */
  #run<T>(
    work: (route: Route) => Promise<T>,
    login = false,
    router: Router = this.#ctx.router,
  ): Promise<T> {
    const { admission } = this.#ctx;
    const user = this.#user;
    if (this.isVerified) {
      let routed: Route | Promise<Route>;
      try {
        routed = login ? router.loginRoute(user) : router.route(user);
      } catch (error) {
        return Promise.reject(error); // e.g. a role known to be missing: never a synchronous throw
      }
      if (!(routed instanceof Promise)) {
        try {
          admission.enter();
        } catch (error) {
          return Promise.reject(error);
        }
        try {
          return work(routed);
        } catch (error) {
          return Promise.reject(error);
        } finally {
          admission.leave();
        }
      }
    }
    return this.#runAfterVerification(work, login, router);
  }

  async #runAfterVerification<T>(
    work: (route: Route) => Promise<T>,
    login: boolean,
    router: Router,
  ): Promise<T> {
    const { admission, verifier } = this.#ctx;
    admission.enter();
    let started: Promise<T>;
    try {
      if (!this.isVerified) {
        const claim = this.#claim;
        try {
          const owner = await verifier.verify(claim.claimed, claim.token, claim.fingerprint);
          this.#settle(roleOf(owner, claim.claimed, claim.fromEmailHeader));
        } catch (error) {
          // a token that is not the identity's: this scope is done (its onClose fires)
          if (error instanceof AuthenticationError) this.drop();
          throw error;
        }
        // verified: from now on the cache hands this scope out (and forgets it in time)
        this.#ctx.scopes.adopt(scopeKey(this.#user.identity, claim.fingerprint), this);
      }
      const user = this.#user;
      const routed = login ? router.loginRoute(user) : router.route(user);
      started = work(routed instanceof Promise ? await routed : routed);
    } finally {
      admission.leave();
    }
    return started;
  }
}

/** The development fallback: a request without a token runs as the service principal. */
export class FallbackScope extends BaseScope {
  readonly identity: string;
  readonly isServicePrincipalFallback = true;
  /** No token to verify: the service principal, on a developer's machine only. */
  readonly isVerified = true;
  readonly #pool: LakebasePool;
  readonly #options: pg.PoolConfig;
  readonly #pgConfig: IdentityPgConfigSource;

  constructor(
    identity: string,
    pool: LakebasePool,
    options: pg.PoolConfig,
    pgConfig: IdentityPgConfigSource,
  ) {
    super();
    this.identity = identity;
    this.#pool = pool;
    this.#options = options;
    this.#pgConfig = pgConfig;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#pool.query<R>(text as string, values);
  }

  getPgConfig(): pg.PoolConfig {
    return this.#pgConfig.pgConfig();
  }

  sharedPool(): pg.Pool {
    return this.#pool;
  }

  checkout(): Promise<pg.PoolClient> {
    return this.#pool.connect().then((client) => leaseClient(client, client.release));
  }

  /** The service principal's own login (the development fallback runs as the SP anyway). */
  loginCheckout(): Promise<pg.PoolClient> {
    return this.checkout();
  }

  viewOptions(): pg.PoolConfig {
    return this.#options;
  }
}

function safeCall(listener: Listener): void {
  try {
    listener();
  } catch {
    // a listener's failure must not break closing pools
  }
}
