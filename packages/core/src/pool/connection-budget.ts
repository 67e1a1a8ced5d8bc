/**
 * The global budget on user connections: a counting semaphore shared by every user pool. A
 * slot is taken before a user connection opens (client.ts) and given back exactly once, when
 * that connection has ended. When no slot is free, the budget closes an idle connection of the
 * least recently used pool it tracks (through pg's public `connect()` + `release(true)`) and
 * waits; a waiter gives up with `PoolBudgetError` at its deadline.
 */

import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { ClosedError, PoolBudgetError } from '../base/errors.js';
import type { ConnectionSlots, ReleaseSlot } from './client.js';

/** What the budget needs of a pool to reclaim one of its idle connections. */
export interface ReclaimablePool {
  readonly idleCount: number;
  readonly waitingCount: number;
  connect(): Promise<{ release(destroy?: boolean | Error): void }>;
  on(event: 'release', listener: () => void): unknown;
  off(event: 'release', listener: () => void): unknown;
}

export interface ConnectionBudgetStats {
  inUse: number;
  peak: number;
  max: number;
  waiting: number;
  waits: number;
  timeouts: number;
  reclaims: number;
}

interface Waiter {
  grant: (release: ReleaseSlot) => void;
  fail: (error: Error) => void;
}

export class ConnectionBudget implements ConnectionSlots {
  readonly max: number;
  readonly #clock: Clock;
  readonly #waiters: Waiter[] = [];
  /** Tracked pools, least recently used first. */
  readonly #pools = new Map<ReclaimablePool, () => void>();
  #inUse = 0;
  #peak = 0;
  #waits = 0;
  #timeouts = 0;
  #reclaims = 0;
  /** Pools with a reclaim under way (one at a time per pool: its idle count lags a tick). */
  readonly #reclaiming = new Set<ReclaimablePool>();
  #closed = false;

  constructor(options: { max: number; clock?: Clock }) {
    if (!Number.isInteger(options.max) || options.max < 1) {
      throw new RangeError(
        `userPools.maxConnections must be a positive integer, got ${options.max}`,
      );
    }
    this.max = options.max;
    this.#clock = options.clock ?? systemClock;
  }

  /** Lets the budget reclaim `pool`'s idle connections; `touch` marks it recently used. */
  track(pool: ReclaimablePool): void {
    if (this.#pools.has(pool)) return;
    // a connection went idle: a waiter may reclaim it
    const onRelease = () => {
      if (this.#waiters.length > 0) setImmediate(() => this.#reclaim());
    };
    pool.on('release', onRelease);
    this.#pools.set(pool, onRelease);
  }

  touch(pool: ReclaimablePool): void {
    const onRelease = this.#pools.get(pool);
    if (!onRelease) return;
    this.#pools.delete(pool);
    this.#pools.set(pool, onRelease);
  }

  untrack(pool: ReclaimablePool): void {
    const onRelease = this.#pools.get(pool);
    if (!onRelease) return;
    pool.off('release', onRelease);
    this.#pools.delete(pool);
  }

  /** Takes a slot, waiting (and reclaiming an idle connection) when none is free. */
  acquire(deadline: number): Promise<ReleaseSlot> {
    if (this.#closed)
      return Promise.reject(new ClosedError('The user connection budget is closed'));
    if (this.#inUse < this.max && this.#waiters.length === 0) return Promise.resolve(this.#take());
    this.#waits++;
    return new Promise<ReleaseSlot>((resolve, reject) => {
      let timer: unknown;
      const finish = () => {
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        grant: (release) => {
          finish();
          resolve(release);
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      const wait = deadline - this.#clock.now();
      if (Number.isFinite(wait)) {
        timer = this.#clock.setTimeout(
          () => {
            this.#timeouts++;
            waiter.fail(
              new PoolBudgetError(
                `All ${this.max} user connections (userPools.maxConnections) are in use; ` +
                  'none was freed before the connect deadline (connectionTimeoutMillis)',
              ),
            );
          },
          Math.max(0, wait),
        );
        (timer as { unref?: () => unknown } | undefined)?.unref?.();
      }
      this.#waiters.push(waiter);
      this.#reclaim();
    });
  }

  stats(): ConnectionBudgetStats {
    return {
      inUse: this.#inUse,
      peak: this.#peak,
      max: this.max,
      waiting: this.#waiters.length,
      waits: this.#waits,
      timeouts: this.#timeouts,
      reclaims: this.#reclaims,
    };
  }

  /** Fails every waiter; later `acquire` calls fail. Held slots can still be given back. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.slice()) {
      waiter.fail(new ClosedError('The user connection budget is closed'));
    }
    for (const pool of [...this.#pools.keys()]) this.untrack(pool);
  }

  #take(): ReleaseSlot {
    this.#inUse++;
    if (this.#inUse > this.#peak) this.#peak = this.#inUse;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse--;
      const waiter = this.#waiters[0];
      if (waiter && this.#inUse < this.max) waiter.grant(this.#take());
    };
  }

  /** Closes idle connections (least recently used pool first), one per waiter not yet served. */
  #reclaim(): void {
    if (this.#closed) return;
    while (this.#reclaiming.size < this.#waiters.length && this.#inUse >= this.max) {
      const pool = this.#reclaimable();
      if (!pool) return;
      this.#reclaiming.add(pool);
      this.#reclaims++;
      pool
        .connect()
        .then((client) => client.release(true))
        .catch(() => {
          /* it went busy meanwhile: the waiter waits on */
        })
        .finally(() => {
          this.#reclaiming.delete(pool);
        });
    }
  }

  #reclaimable(): ReclaimablePool | undefined {
    for (const pool of this.#pools.keys()) {
      if (pool.idleCount > 0 && pool.waitingCount === 0 && !this.#reclaiming.has(pool)) return pool;
    }
    return undefined;
  }
}
