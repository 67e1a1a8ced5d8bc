/**
 * The global budget on user connections: a counting semaphore shared by every user pool. A
 * slot is taken before a user connection opens and given back exactly once when it ends. When
 * no slot is free the budget asks the registry to close an idle connection somewhere (least
 * recently used pool first) and waits; it gives up with `PoolBudgetError` after the timeout.
 */
import { PoolBudgetError } from './errors.js';
import type { Clock } from './types.js';

/** Gives a slot back; calling it more than once is a no-op. */
export type ReleaseSlot = () => void;

export interface ConnectionBudgetOptions {
  /** Most user connections open at once. */
  max: number;
  /** How long a connect may wait for a slot; 0 → forever. */
  timeoutMillis: number;
  /**
   * Asked to free a slot when none is left: close one idle connection somewhere. Returns true
   * when it started closing one. Called again while waiters remain and slots do not come back.
   */
  reclaim?: () => boolean | Promise<boolean>;
  clock?: Clock;
}

export interface ConnectionBudgetStats {
  inUse: number;
  peak: number;
  max: number;
  waiting: number;
  waits: number;
  timeouts: number;
}

interface Waiter {
  grant: (release: ReleaseSlot) => void;
  fail: (error: Error) => void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class ConnectionBudget {
  readonly max: number;
  private readonly timeoutMillis: number;
  private readonly reclaimIdle: (() => boolean | Promise<boolean>) | undefined;
  private readonly clock: Clock;
  private readonly waiters: Waiter[] = [];
  private inUse = 0;
  private peak = 0;
  private waits = 0;
  private timeouts = 0;
  private reclaiming = false;
  private closed = false;

  constructor(options: ConnectionBudgetOptions) {
    if (!Number.isInteger(options.max) || options.max < 1) {
      throw new RangeError(
        `userPools.maxConnections must be a positive integer, got ${options.max}`,
      );
    }
    this.max = options.max;
    this.timeoutMillis = Math.max(0, options.timeoutMillis);
    this.reclaimIdle = options.reclaim;
    this.clock = options.clock ?? systemClock;
  }

  /** Takes a slot, waiting (and asking for an idle connection to close) when none is free. */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (this.closed) return Promise.reject(new PoolBudgetError('User connection budget is closed'));
    if (this.inUse < this.max && this.waiters.length === 0) {
      return Promise.resolve(this.take());
    }
    this.waits++;
    return new Promise<ReleaseSlot>((resolve, reject) => {
      let timer: unknown;
      const finish = () => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
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
      // pg-pool gave up on this connect (its connectionTimeoutMillis): a budget timeout too
      const onAbort = () => {
        this.timeouts++;
        waiter.fail(this.exhausted('gave up waiting for a free slot (connectionTimeoutMillis)'));
      };
      if (signal?.aborted) {
        reject(this.exhausted('gave up waiting for a free slot (connectionTimeoutMillis)'));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.timeoutMillis > 0) {
        timer = this.clock.setTimeout(() => {
          this.timeouts++;
          waiter.fail(this.exhausted(`no slot freed within ${this.timeoutMillis} ms`));
        }, this.timeoutMillis);
        (timer as { unref?: () => unknown } | undefined)?.unref?.();
      }
      this.waiters.push(waiter);
      this.poke();
    });
  }

  stats(): ConnectionBudgetStats {
    return {
      inUse: this.inUse,
      peak: this.peak,
      max: this.max,
      waiting: this.waiters.length,
      waits: this.waits,
      timeouts: this.timeouts,
    };
  }

  /** Fails every waiter; later `acquire` calls fail. Held slots can still be given back. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.slice()) {
      waiter.fail(new PoolBudgetError('User connection budget is closed'));
    }
  }

  private exhausted(reason: string): PoolBudgetError {
    return new PoolBudgetError(
      `All ${this.max} user connections (userPools.maxConnections) are in use: ${reason}`,
    );
  }

  private take(): ReleaseSlot {
    this.inUse++;
    if (this.inUse > this.peak) this.peak = this.inUse;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      this.handOver();
    };
  }

  private handOver(): void {
    const waiter = this.waiters[0];
    if (waiter && this.inUse < this.max) {
      waiter.grant(this.take());
    }
    if (this.waiters.length > 0) this.poke();
  }

  /**
   * Asks for idle connections to close, one per waiter, while no slot is free. The registry
   * calls it when a user connection goes idle and someone is waiting.
   */
  poke(): void {
    if (this.waiters.length === 0) return;
    if (!this.reclaimIdle || this.reclaiming || this.closed) return;
    this.reclaiming = true;
    void (async () => {
      try {
        // one idle connection per waiter that cannot be served yet
        let wanted = this.waiters.length;
        while (wanted > 0 && this.inUse >= this.max) {
          const started = await this.reclaimIdle!();
          if (!started) break;
          wanted--;
        }
      } catch {
        // a failed reclaim only means waiting longer
      } finally {
        this.reclaiming = false;
      }
    })();
  }
}
