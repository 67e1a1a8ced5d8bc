/**
 * `UserScope` objects: one per (identity, token fingerprint), cached by the facade so adapters
 * can key per-user ORM clients on the object. Nothing in a scope touches the user's pool, token
 * cache or stored token before `verified` resolves.
 */
import type pg from 'pg';
import { ScopedPool, type ScopeTarget } from './scoped-pool.js';
import type { OrmConfig, UserScope } from './types.js';

export interface ScopeInit {
  identity: string;
  isServicePrincipalFallback: boolean;
  /** Token fingerprint (undefined on the development fallback). */
  fingerprint: string | undefined;
  /** Resolves when the token is known to belong to `identity`; rejects with a typed error. */
  verified: Promise<void>;
  /** Options the scoped `pg.Pool` reports (`pool.options`); no password. */
  poolOptions: pg.PoolConfig;
  target: ScopeTarget;
  pgConfig: () => pg.PoolConfig;
  ormConfig: () => OrmConfig;
  /** Called when `scope.pool.end()` is called (the facade stops handing this scope out). */
  onEnd?: () => void;
}

export class Scope implements UserScope {
  readonly identity: string;
  readonly isServicePrincipalFallback: boolean;
  readonly fingerprint: string | undefined;
  readonly verified: Promise<void>;
  readonly pool: ScopedPool;
  private readonly pgConfigOf: () => pg.PoolConfig;
  private readonly ormConfigOf: () => OrmConfig;
  private readonly listeners = new Set<() => void>();
  private dropped = false;
  private verifiedOk = false;

  constructor(init: ScopeInit) {
    this.identity = init.identity;
    this.isServicePrincipalFallback = init.isServicePrincipalFallback;
    this.fingerprint = init.fingerprint;
    this.verified = init.verified;
    this.verified.then(
      () => {
        this.verifiedOk = true;
      },
      () => {},
    );
    this.pool = new ScopedPool(init.poolOptions, init.target, init.onEnd);
    this.pgConfigOf = init.pgConfig;
    this.ormConfigOf = init.ormConfig;
  }

  /** True once the token was verified for the identity (synchronously known). */
  get isVerified(): boolean {
    return this.verifiedOk;
  }

  /** True once this scope's pool was dropped (idle, evicted, closed) or ended. */
  get isDropped(): boolean {
    return this.dropped;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text as string, values);
  }

  getPgConfig(): pg.PoolConfig {
    return this.pgConfigOf();
  }

  getOrmConfig(): OrmConfig {
    return this.ormConfigOf();
  }

  onClose(listener: () => void): () => void {
    if (this.dropped) {
      queueMicrotask(() => safeCall(listener));
      return () => {};
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Fires the `onClose` listeners once. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) safeCall(listener);
  }
}

function safeCall(listener: () => void): void {
  try {
    listener();
  } catch {
    // a listener's failure must not break closing pools
  }
}
