/**
 * `ReadScope`: `asUser(req).read` — the same verified identity on the read-only endpoint. Every
 * path waits for the identity's token to be verified exactly as its primary scope does (it runs
 * through that scope), then runs where the read endpoint's router says: the user's own login
 * pool on the read host, or the SP's read pool under the user's role. A read the replica cannot
 * serve with this app's last write (read-your-writes) runs on the primary scope instead.
 */
import type pg from 'pg';
import {
  runStatement,
  type StatementOptions,
  type StatementResult,
} from '../agent/statement-runner.js';
import { ReplicaBehindError } from '../base/errors.js';
import type { OrmConfig } from '../base/types.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { toOrmConfig } from '../pool/external-config.js';
import type { ReplicaGate } from '../pool/replica-gate.js';
import type { Route } from './route.js';
import type { Router } from './router.js';
import { type ScopeConnections, ScopePool } from './scope-pool.js';
import type { UserScope } from './types.js';
import type { UserPools } from './user-pools.js';

/** Where a scope's `read` runs: the read-only endpoint's router and user pools. */
export interface ReadContext {
  config: ResolvedConfig;
  viewOptions: pg.PoolConfig;
  router: Router;
  users: UserPools;
  gate: ReplicaGate;
}

/** What a read scope needs of its primary scope (scope.ts's `UserScopeImpl`). */
export interface PrimaryScope extends UserScope {
  runOn<T>(router: Router, work: (route: Route) => Promise<T>, login?: boolean): Promise<T>;
  pgConfigOn(side: Pick<ReadContext, 'config' | 'users' | 'viewOptions'>): pg.PoolConfig;
}

/** `replica()`, or `primary()` when the replica stays behind this app's last write. */
function orPrimary<T>(gate: ReplicaGate, replica: () => Promise<T>, primary: () => Promise<T>) {
  return replica().catch((error: unknown) => {
    if (!(error instanceof ReplicaBehindError)) throw error;
    gate.fellBack();
    return primary();
  });
}

export class ReadScope implements UserScope, ScopeConnections {
  readonly isServicePrincipalFallback = false;
  readonly #primary: PrimaryScope;
  readonly #read: ReadContext;
  #pool: ScopePool | undefined;
  #pgConfig: pg.PoolConfig | undefined;

  constructor(primary: PrimaryScope, read: ReadContext) {
    this.#primary = primary;
    this.#read = read;
  }

  get identity(): string {
    return this.#primary.identity;
  }

  get isVerified(): boolean {
    return this.#primary.isVerified;
  }

  get read(): UserScope {
    return this;
  }

  /** A real `pg.Pool` on the read host as this identity; `query()` falls back to the primary. */
  get pool(): pg.Pool {
    this.#pool ??= new ScopePool({ ...this.#read.viewOptions, user: this.identity }, this, {
      primary: this.#primary.pool,
      gate: this.#read.gate,
    });
    return this.#pool;
  }

  /** A leased client on the read host as this identity (its pool view's `connect()`). */
  checkout(): Promise<pg.PoolClient> {
    return this.#primary.runOn(this.#read.router, (route) => route.connect());
  }

  /** The read pool this identity runs on now (its pool view's counters); no I/O. */
  sharedPool(): pg.Pool | undefined {
    return this.#primary.isVerified ? this.#read.router.currentPool(this.identity) : undefined;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return orPrimary(
      this.#read.gate,
      () => this.#primary.runOn(this.#read.router, (route) => route.query<R>(text, values)),
      () => this.#primary.query<R>(text, values),
    );
  }

  /** The agent's read-only statement on the replica, on the user's own login there. */
  readOnlyQuery(
    text: string,
    values?: unknown[],
    options: StatementOptions = {},
  ): Promise<StatementResult> {
    return orPrimary(
      this.#read.gate,
      () =>
        runStatement(
          () => this.#primary.runOn(this.#read.router, (route) => route.connect(), true),
          text,
          values,
          { ...options, readOnly: true },
        ),
      () => this.#primary.readOnlyQuery(text, values, options),
    );
  }

  /** A statement that may write belongs on the primary. */
  singleStatementQuery(
    text: string,
    values?: unknown[],
    options?: StatementOptions,
  ): Promise<StatementResult> {
    return this.#primary.singleStatementQuery(text, values, options);
  }

  getPgConfig(): pg.PoolConfig {
    this.#pgConfig ??= this.#primary.pgConfigOn(this.#read);
    return this.#pgConfig;
  }

  getOrmConfig(): OrmConfig {
    const config = this.getPgConfig();
    return toOrmConfig(config, config.user, 'getOrmConfig');
  }

  onClose(listener: () => void): () => void {
    return this.#primary.onClose(listener);
  }
}
