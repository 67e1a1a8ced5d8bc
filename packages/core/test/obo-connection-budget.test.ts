import { describe, expect, it } from 'vitest';
import { ConnectionBudget, type ReleaseSlot } from '../src/connection-budget.js';
import { PoolBudgetError } from '../src/errors.js';
import type { Clock } from '../src/types.js';

/** A manual clock: timers fire only when the test advances time. */
function fakeClock() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock & { advance(ms: number): void; pending(): number } = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (handle) => {
      timers.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers]) {
        if (timer.at <= now) {
          timers.delete(id);
          timer.fn();
        }
      }
    },
    pending: () => timers.size,
  };
  return clock;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('ConnectionBudget', () => {
  it('hands out at most max slots and gives each back exactly once', async () => {
    const budget = new ConnectionBudget({ max: 2, timeoutMillis: 1000, clock: fakeClock() });
    const a = await budget.acquire();
    const b = await budget.acquire();
    expect(budget.stats()).toMatchObject({ inUse: 2, peak: 2, waiting: 0 });

    let third: ReleaseSlot | undefined;
    const pending = budget.acquire().then((release) => {
      third = release;
    });
    await flush();
    expect(third).toBeUndefined();
    expect(budget.stats()).toMatchObject({ inUse: 2, waiting: 1, waits: 1 });

    a();
    a(); // a second release of the same slot is a no-op
    await pending;
    expect(third).toBeTypeOf('function');
    expect(budget.stats()).toMatchObject({ inUse: 2, peak: 2, waiting: 0 });
    b();
    third!();
    expect(budget.stats().inUse).toBe(0);
  });

  it('serves waiters first-come first-served', async () => {
    const budget = new ConnectionBudget({ max: 1, timeoutMillis: 0 });
    const first = await budget.acquire();
    const order: string[] = [];
    const x = budget.acquire().then((r) => {
      order.push('x');
      return r;
    });
    const y = budget.acquire().then((r) => {
      order.push('y');
      return r;
    });
    first();
    (await x)();
    (await y)();
    expect(order).toEqual(['x', 'y']);
    expect(budget.stats()).toMatchObject({ inUse: 0, peak: 1, waits: 2 });
  });

  it('asks the registry to reclaim an idle connection, once per waiter', async () => {
    let reclaims = 0;
    const held: ReleaseSlot[] = [];
    const budget = new ConnectionBudget({
      max: 2,
      timeoutMillis: 0,
      reclaim: () => {
        reclaims++;
        // "close" the oldest idle connection: its slot comes back asynchronously
        const release = held.shift();
        if (!release) return false;
        setImmediate(release);
        return true;
      },
    });
    held.push(await budget.acquire(), await budget.acquire());
    const waiter = budget.acquire();
    const release = await waiter;
    expect(reclaims).toBe(1);
    expect(budget.stats()).toMatchObject({ inUse: 2, peak: 2, waits: 1 });
    release();
  });

  it('fails with PoolBudgetError after the timeout and never exceeds max', async () => {
    const clock = fakeClock();
    const budget = new ConnectionBudget({
      max: 1,
      timeoutMillis: 500,
      clock,
      reclaim: () => false,
    });
    const slot = await budget.acquire();
    const waiting = budget.acquire();
    clock.advance(499);
    await flush();
    expect(budget.stats().waiting).toBe(1);
    clock.advance(1);
    await expect(waiting).rejects.toBeInstanceOf(PoolBudgetError);
    await expect(waiting).rejects.toMatchObject({ status: 503, code: 'LAKEBASE_POOL_BUDGET' });
    expect(budget.stats()).toMatchObject({ inUse: 1, peak: 1, waiting: 0, timeouts: 1 });
    slot();
    expect(clock.pending()).toBe(0);
  });

  it('stops waiting when the connect is abandoned, and on close', async () => {
    const budget = new ConnectionBudget({ max: 1, timeoutMillis: 0 });
    const slot = await budget.acquire();
    const controller = new AbortController();
    const abandoned = budget.acquire(controller.signal);
    controller.abort();
    await expect(abandoned).rejects.toBeInstanceOf(PoolBudgetError);

    const pending = budget.acquire();
    budget.close();
    await expect(pending).rejects.toBeInstanceOf(PoolBudgetError);
    await expect(budget.acquire()).rejects.toBeInstanceOf(PoolBudgetError);
    slot();
    expect(budget.stats()).toMatchObject({ inUse: 0, waiting: 0 });
  });

  it('poke() retries reclaiming when a connection goes idle later', async () => {
    const idle: ReleaseSlot[] = [];
    const budget = new ConnectionBudget({
      max: 1,
      timeoutMillis: 0,
      reclaim: () => {
        const release = idle.shift();
        if (!release) return false;
        setImmediate(release);
        return true;
      },
    });
    const busy = await budget.acquire();
    let granted = false;
    const waiting = budget.acquire().then((r) => {
      granted = true;
      return r;
    });
    await flush();
    expect(granted).toBe(false); // nothing idle to reclaim yet
    idle.push(busy); // the busy connection went idle
    budget.poke();
    (await waiting)();
    expect(granted).toBe(true);
    expect(budget.stats()).toMatchObject({ inUse: 0, peak: 1 });
  });

  it('rejects a non-positive max', () => {
    expect(() => new ConnectionBudget({ max: 0, timeoutMillis: 0 })).toThrow(RangeError);
  });
});
