/**
 * `ScopePool`: the real `pg.Pool` (a subclass) that a `UserScope` hands out. It owns no
 * connections: `connect()` — and so `query()`, which pg-pool routes through it — checks a
 * client out of the pool the scope runs on (the user's, once the token is verified), so every
 * path runs as the scope's identity. `end()` ends only this view (pg's own `end()`: it has no
 * clients, so it ends at once); the shared pool keeps running. The counters report the shared
 * pool.
 */
import pg from 'pg';
import { ClosedError } from '../base/errors.js';
import { type ReplicaGate, withPrimaryFallback } from '../pool/replica-gate.js';

/** A read scope's pool view: its `query()` runs on the primary when the replica stays behind. */
export interface PrimaryFallback {
  primary: pg.Pool;
  gate: ReplicaGate;
}

/** Where a scope's connections come from: the scope itself. */
export interface ScopeConnections {
  /** A leased client of the shared pool, as the scope's identity. */
  checkout(): Promise<pg.PoolClient>;
  /** The shared pool right now, if any (for the counters); never does I/O. */
  sharedPool(): pg.Pool | undefined;
}

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: Error | boolean) => void,
) => void;

const noop = () => {};

export class ScopePool extends pg.Pool {
  readonly #connections: ScopeConnections;
  readonly #fallback: PrimaryFallback | undefined;

  constructor(options: pg.PoolConfig, connections: ScopeConnections, fallback?: PrimaryFallback) {
    super(options);
    this.#connections = connections;
    this.#fallback = fallback;
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query(config, values?, callback?)
  override query(config: any, values?: any, callback?: any): any {
    const fallback = this.#fallback;
    if (!fallback || typeof config?.submit === 'function') {
      return super.query(config, values, callback);
    }
    return withPrimaryFallback(
      (c, v) => super.query(c as string, v as unknown[]),
      fallback.primary,
      fallback.gate,
      config,
      values,
      callback,
    );
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    const result = this.ending
      ? Promise.reject(new ClosedError('Cannot use a pool after calling end on the pool'))
      : this.#connections.checkout();
    if (!callback) return result;
    result.then(
      (client) => callback(undefined, client, client.release),
      (error: Error) => callback(error, undefined, noop),
    );
    return undefined;
  }

  /** The shared pool right now (read by the counters below). */
  get sharedPool(): pg.Pool | undefined {
    return this.#connections.sharedPool();
  }
}

// The counters report the shared pool. pg declares them as getters on `Pool.prototype`; these
// are this subclass's own accessors, defined on its own prototype.
for (const name of ['totalCount', 'idleCount', 'waitingCount', 'expiredCount'] as const) {
  Object.defineProperty(ScopePool.prototype, name, {
    configurable: true,
    enumerable: false,
    get(this: ScopePool) {
      return this.sharedPool?.[name] ?? 0;
    },
  });
}
