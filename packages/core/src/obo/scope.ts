/**
 * What `asUser(req)` returns: a `UserScope` (`query`, `pool`, `getPgConfig`, `getOrmConfig`)
 * that runs as one verified identity, and the cache of scopes by (identity, token
 * fingerprint). A scope does nothing on creation: its first use waits for the token to be
 * verified, then checks a client out of the identity's pool. It retains nothing per query.
 * The cache is bounded, and forgets a scope unused for `idleMs` (firing its `onClose`).
 */
import type pg from 'pg';
import {
  runStatement,
  type StatementOptions,
  type StatementResult,
} from '../agent/statement-runner.js';
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { LruMap } from '../base/lru-map.js';
import type { OrmConfig } from '../base/types.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { LakebasePool } from '../pool/lakebase-pool.js';
import { toOrmConfig } from '../pool/orm-config.js';
import { lakebasePoolConfig } from '../pool/pool-config.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { Admission } from './admission.js';
import type { IdentityVerifier } from './identity/token-owner.js';
import { ScopePool } from './scope-pool.js';
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
  /**
   * Where a verified user's work runs: their own pool (login mode), or the service principal's
   * pool under their role (set-role mode). A promise only while `auto` mode asks Postgres.
   */
  route(user: VerifiedUser): UserConnections | Promise<UserConnections>;
  /**
   * The identity's own login pool, in every mode: where SQL written by someone else runs
   * (`readOnlyQuery`), since under `SET ROLE` such SQL could reset the role.
   */
  loginRoute(user: VerifiedUser): UserConnections;
  /** The pool a user's work runs on now, if known (for counters); no I/O. */
  currentPool(identity: string): pg.Pool | undefined;
}

/** What a verified user's work runs on (a `LakebasePool`, or a `RoleSession`). */
export interface UserConnections {
  query<R extends pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  connect(): Promise<pg.PoolClient>;
}

type Listener = () => void;

/** The parts shared by user scopes and the development fallback. */
abstract class BaseScope implements UserScope {
  abstract readonly identity: string;
  abstract readonly isServicePrincipalFallback: boolean;
  #pool: ScopePool | undefined;
  #listeners: Set<Listener> | undefined;
  #dropped = false;

  /** The shared pool this scope runs on now (for the view's counters). */
  protected abstract currentPool(): pg.Pool | undefined;
  /** Checks a client out of the pool this scope runs on. */
  protected abstract checkout(): Promise<pg.PoolClient>;
  /** Checks out a client logged in as this scope's identity (for statements of others). */
  protected abstract loginCheckout(): Promise<pg.PoolClient>;
  protected abstract viewOptions(): pg.PoolConfig;
  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  abstract query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  abstract getPgConfig(): pg.PoolConfig;

  /** A real `pg.Pool` whose every path runs as this scope's identity (created on first use). */
  get pool(): pg.Pool {
    this.#pool ??= new ScopePool(this.viewOptions(), {
      connect: () => this.checkout(),
      current: () => this.currentPool(),
    });
    return this.#pool;
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

/** A verified user's scope: everything runs on that user's pool. */
export class UserScopeImpl extends BaseScope {
  readonly identity: string;
  readonly isServicePrincipalFallback = false;
  readonly #ctx: ScopeContext;
  readonly #user: VerifiedUser;
  #pgConfig: pg.PoolConfig | undefined;

  constructor(ctx: ScopeContext, user: VerifiedUser) {
    super();
    this.#ctx = ctx;
    this.#user = user;
    this.identity = user.identity;
  }

  get fingerprint(): string {
    return this.#user.fingerprint;
  }

  /** True once the token is known to belong to the identity (no I/O). */
  get isVerified(): boolean {
    return this.#ctx.verifier.isVerified(this.#user.identity, this.#user.fingerprint);
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
    return this.run((connections) => connections.query<R>(text, values));
  }

  getPgConfig(): pg.PoolConfig {
    if (!this.#pgConfig) {
      const { config, telemetry, users } = this.#ctx;
      this.#pgConfig = lakebasePoolConfig({
        config,
        poolName: 'lakebase:user',
        userName: this.identity,
        passwords: {
          isToken: true,
          password: (deadline) => this.run(() => users.token(this.#user, deadline)),
        },
        telemetry,
        logger: config.logger,
        clock: systemClock,
        slots: users.budget,
        max: this.#ctx.viewOptions.max,
        idleTimeoutMillis: this.#ctx.viewOptions.idleTimeoutMillis ?? undefined,
      }).poolConfig;
    }
    return this.#pgConfig;
  }

  protected currentPool(): pg.Pool | undefined {
    return this.isVerified ? this.#ctx.currentPool(this.identity) : undefined;
  }

  protected checkout(): Promise<pg.PoolClient> {
    return this.run((connections) => connections.connect());
  }

  protected loginCheckout(): Promise<pg.PoolClient> {
    return this.run((connections) => connections.connect(), true);
  }

  protected viewOptions(): pg.PoolConfig {
    return { ...this.#ctx.viewOptions, user: this.identity };
  }

  /**
   * Waits until the token is verified, then starts `work` where the identity's work runs, all
   * while admitted: `close()` lets it reach the pool (which then lets it finish). A verified
   * token with a known route starts `work` at once (the hot path: no await).
   */
  private run<T>(work: (connections: UserConnections) => Promise<T>, login = false): Promise<T> {
    const { admission, verifier } = this.#ctx;
    const user = this.#user;
    if (verifier.isVerified(user.identity, user.fingerprint)) {
      let routed: UserConnections | Promise<UserConnections>;
      try {
        routed = login ? this.#ctx.loginRoute(user) : this.#ctx.route(user);
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
    return this.#runAfterVerification(work, login);
  }

  async #runAfterVerification<T>(
    work: (connections: UserConnections) => Promise<T>,
    login: boolean,
  ): Promise<T> {
    const { admission, verifier } = this.#ctx;
    const user = this.#user;
    admission.enter();
    let started: Promise<T>;
    try {
      if (!verifier.isVerified(user.identity, user.fingerprint)) {
        await verifier.verify(user.identity, user.token, user.fingerprint);
      }
      const routed = login ? this.#ctx.loginRoute(user) : this.#ctx.route(user);
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
  readonly #pool: LakebasePool;
  readonly #options: pg.PoolConfig;
  readonly #pgConfig: () => pg.PoolConfig;

  constructor(
    identity: string,
    pool: LakebasePool,
    options: pg.PoolConfig,
    pgConfig: () => pg.PoolConfig,
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
    return this.#pgConfig();
  }

  protected currentPool(): pg.Pool {
    return this.#pool;
  }

  protected checkout(): Promise<pg.PoolClient> {
    return this.#pool.connect();
  }

  /** The service principal's own login (the development fallback runs as the SP anyway). */
  protected loginCheckout(): Promise<pg.PoolClient> {
    return this.#pool.connect();
  }

  protected viewOptions(): pg.PoolConfig {
    return this.#options;
  }
}

export function scopeKey(identity: string, fingerprint: string): string {
  return `${identity}\u0000${fingerprint}`;
}

const RECENCY_STEP_MS = 1000;

/** The cached scopes: bounded, least recently used forgotten first, and forgotten when idle. */
export class ScopeCache {
  readonly #scopes: LruMap<string, { scope: UserScopeImpl; lastUsed: number; movedAt: number }>;
  readonly #idleMs: number;
  readonly #clock: Clock;
  #sweepTimer: unknown;

  constructor(options: { max: number; idleMs: number; clock?: Clock }) {
    this.#scopes = new LruMap(options.max, (_key, entry) => entry.scope.drop());
    this.#idleMs = options.idleMs;
    this.#clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.#scopes.size;
  }

  /** The distinct identities of the cached scopes (bounded by the cache). */
  identities(): string[] {
    return [...new Set([...this.#scopes.values()].map((entry) => entry.scope.identity))];
  }

  get(key: string): UserScopeImpl | undefined {
    const entry = this.#scopes.peek(key);
    if (!entry) return undefined;
    if (entry.scope.isPoolEnded) {
      this.forget(key, entry.scope);
      return undefined;
    }
    const now = this.#clock.now();
    // recency moves at most once a second per scope: the order is LRU to the second, and a
    // busy scope costs a lookup per request instead of a Map delete + insert
    if (now - entry.movedAt >= RECENCY_STEP_MS) {
      this.#scopes.get(key); // to the most recent end
      entry.movedAt = now;
    }
    entry.lastUsed = now;
    return entry.scope;
  }

  add(key: string, scope: UserScopeImpl): void {
    const now = this.#clock.now();
    this.#scopes.set(key, { scope, lastUsed: now, movedAt: now });
    this.#startSweeping();
  }

  /** Stops handing `scope` out (if it is still the one cached under `key`). */
  forget(key: string, scope: UserScopeImpl): void {
    if (this.#scopes.peek(key)?.scope !== scope) return;
    this.#scopes.delete(key);
    scope.drop();
  }

  /** Forgets every scope (their `onClose` fires). */
  clear(): void {
    const entries = [...this.#scopes.values()];
    this.#scopes.clear();
    for (const entry of entries) entry.scope.drop();
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #startSweeping(): void {
    if (this.#sweepTimer !== undefined || this.#idleMs <= 0) return;
    this.#sweepTimer = this.#clock.setTimeout(
      () => {
        this.#sweepTimer = undefined;
        const cutoff = this.#clock.now() - this.#idleMs;
        for (const [key, entry] of [...this.#scopes.entries()]) {
          if (entry.lastUsed <= cutoff) {
            this.#scopes.delete(key);
            entry.scope.drop();
          }
        }
        if (this.#scopes.size > 0) this.#startSweeping();
      },
      Math.max(1, this.#idleMs / 2),
    );
    (this.#sweepTimer as { unref?: () => unknown } | undefined)?.unref?.();
  }
}

function safeCall(listener: Listener): void {
  try {
    listener();
  } catch {
    // a listener's failure must not break closing pools
  }
}
