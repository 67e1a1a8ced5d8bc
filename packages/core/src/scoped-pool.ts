/**
 * `ScopedPool`: the real `pg.Pool` a `UserScope` hands out. It owns no connections: `connect()`
 * (and so `query()`, which pg-pool routes through `this.connect()`) first waits until the scope
 * may run (the token was verified for the identity), then checks a client out of the user's
 * shared pool, so every path runs as the user. `end()` ends only this view, never the shared pool.
 */
import pg from 'pg';
import { ClosedError, PoolBudgetError } from './errors.js';

/** Where a scoped pool's connections come from. */
export interface ScopeTarget {
  /** The shared pool to check a client out of; rejects when the scope may not run. */
  acquire(): Promise<pg.Pool>;
  /** The shared pool right now, if any (for the counters); never does I/O. */
  current(): pg.Pool | undefined;
  /** Rejects when the owner closes, so waiters never hang. Optional. */
  closed?: Promise<never>;
}

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: Error | boolean) => void,
) => void;

const noop = () => {};

/** pg-pool wraps connect failures after its own timeout; surface the budget error itself. */
function unwrap(error: unknown): unknown {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause instanceof PoolBudgetError ? cause : error;
}

export class ScopedPool extends pg.Pool {
  private readonly target: ScopeTarget;
  private readonly onEnd: (() => void) | undefined;
  private scopeEnded = false;

  constructor(options: pg.PoolConfig, target: ScopeTarget, onEnd?: () => void) {
    super(options);
    this.target = target;
    this.onEnd = onEnd;
  }

  /** True after `end()` on this scoped pool (the shared pool keeps running). */
  get scopeIsEnded(): boolean {
    return this.scopeEnded;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    const result = this.checkout();
    if (!callback) return result;
    result.then(
      (client) => callback(undefined, client, client.release),
      (error: Error) => callback(error, undefined, noop),
    );
    return undefined;
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | undefined {
    if (!this.scopeEnded) {
      this.scopeEnded = true;
      const flags = this as unknown as { ending: boolean; ended: boolean };
      flags.ending = true;
      flags.ended = true;
      this.onEnd?.();
    }
    if (callback) {
      process.nextTick(callback);
      return undefined;
    }
    return Promise.resolve();
  }

  private async checkout(): Promise<pg.PoolClient> {
    if (this.scopeEnded) throw new ClosedError('Cannot use a pool after calling end on the pool');
    let shared = await this.target.acquire();
    // the pool was dropped (idle, evicted) since: the target hands out a fresh one
    if (shared.ending) shared = await this.target.acquire();
    if (this.scopeEnded) throw new ClosedError('Cannot use a pool after calling end on the pool');
    const checkout = shared.connect();
    const closed = this.target.closed;
    try {
      if (!closed) return await checkout;
      return await Promise.race([checkout, closed]);
    } catch (error) {
      // a checkout that still completes after the owner closed goes straight back
      checkout.then((client) => client.release(true), noop);
      throw unwrap(error);
    }
  }
}

// The counters reflect the shared pool (pg.Pool declares them as getters on its prototype).
for (const name of ['totalCount', 'idleCount', 'waitingCount', 'expiredCount'] as const) {
  Object.defineProperty(ScopedPool.prototype, name, {
    configurable: true,
    enumerable: false,
    get(this: ScopedPool) {
      const shared = (this as unknown as { target: ScopeTarget }).target.current();
      return shared ? shared[name] : 0;
    },
  });
}
