import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ClosedError, PoolBudgetError } from '../../src/base/errors.js';
import type { ReleaseSlot } from '../../src/pool/client.js';
import { ConnectionBudget } from '../../src/pool/connection-budget.js';
import { FakeClock } from '../support/fake-clock.js';

/** A manual clock starting at 0, so deadlines read as offsets. */
const fakeClock = () => new FakeClock(0);

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A pool stand-in whose idle connections hold budget slots (pure unit: no sockets). */
class IdlePool extends EventEmitter {
  idle: ReleaseSlot[] = [];
  waitingCount = 0;
  checkouts = 0;
  get idleCount() {
    return this.idle.length;
  }
  async connect() {
    this.checkouts++;
    const slot = this.idle.pop();
    if (!slot) throw new Error('no idle connection');
    return {
      release: (destroy?: boolean | Error) => (destroy ? setImmediate(slot) : this.idle.push(slot)),
    };
  }
}

describe('ConnectionBudget', () => {
  it('hands out at most max slots and gives each back exactly once', async () => {
    const budget = new ConnectionBudget({ max: 2, clock: fakeClock() });
    const a = await budget.acquire(1000);
    const b = await budget.acquire(1000);
    expect(budget.stats()).toMatchObject({ inUse: 2, peak: 2, waiting: 0 });

    let third: ReleaseSlot | undefined;
    const pending = budget.acquire(1000).then((release) => {
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
    third?.();
    expect(budget.stats().inUse).toBe(0);
  });

  it('serves waiters first-come first-served', async () => {
    const budget = new ConnectionBudget({ max: 1, clock: fakeClock() });
    const first = await budget.acquire(Number.POSITIVE_INFINITY);
    const order: string[] = [];
    const x = budget.acquire(Number.POSITIVE_INFINITY).then((r) => {
      order.push('x');
      return r;
    });
    const y = budget.acquire(Number.POSITIVE_INFINITY).then((r) => {
      order.push('y');
      return r;
    });
    first();
    (await x)();
    (await y)();
    expect(order).toEqual(['x', 'y']);
    expect(budget.stats()).toMatchObject({ inUse: 0, peak: 1, waits: 2 });
  });

  it('reclaims an idle connection of the least recently used tracked pool, once per waiter', async () => {
    const budget = new ConnectionBudget({ max: 2, clock: fakeClock() });
    const older = new IdlePool();
    const newer = new IdlePool();
    budget.track(older);
    budget.track(newer);
    older.idle.push(await budget.acquire(1000));
    newer.idle.push(await budget.acquire(1000));
    budget.touch(older); // now `newer` is the least recently used
    const release = await budget.acquire(1000);
    expect(newer.checkouts).toBe(1);
    expect(older.checkouts).toBe(0);
    expect(budget.stats()).toMatchObject({ inUse: 2, peak: 2, waits: 1, reclaims: 1 });
    release();
  });

  it('never reclaims from a pool whose own requests wait, and retries when a connection goes idle', async () => {
    const budget = new ConnectionBudget({ max: 1, clock: fakeClock() });
    const busy = new IdlePool();
    budget.track(busy);
    const slot = await budget.acquire(1000);
    let granted = false;
    const waiting = budget.acquire(1000).then((r) => {
      granted = true;
      return r;
    });
    await flush();
    expect(granted).toBe(false); // nothing idle to reclaim yet
    busy.idle.push(slot); // the connection went idle and the pool says so
    busy.emit('release');
    (await waiting)();
    expect(granted).toBe(true);

    const queued = new IdlePool();
    budget.track(queued);
    queued.idle.push(await budget.acquire(1000));
    queued.waitingCount = 1;
    const blocked = budget.acquire(1000);
    await flush();
    expect(queued.checkouts).toBe(0);
    budget.untrack(queued);
    budget.close();
    await expect(blocked).rejects.toBeInstanceOf(ClosedError);
  });

  it('fails with PoolBudgetError at the deadline and never exceeds max', async () => {
    const clock = fakeClock();
    const budget = new ConnectionBudget({ max: 1, clock });
    const slot = await budget.acquire(500);
    const waiting = budget.acquire(500);
    await clock.advance(499);
    await flush();
    expect(budget.stats().waiting).toBe(1);
    await clock.advance(1);
    await expect(waiting).rejects.toBeInstanceOf(PoolBudgetError);
    await expect(waiting).rejects.toMatchObject({ status: 503, code: 'LAKEBASE_POOL_BUDGET' });
    expect(budget.stats()).toMatchObject({ inUse: 1, peak: 1, waiting: 0, timeouts: 1 });
    slot();
    expect(clock.pending()).toBe(0);
  });

  it('close() fails waiters and later acquires with ClosedError; held slots still come back', async () => {
    const budget = new ConnectionBudget({ max: 1, clock: fakeClock() });
    const slot = await budget.acquire(1000);
    const pending = budget.acquire(1000);
    budget.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(budget.acquire(1000)).rejects.toBeInstanceOf(ClosedError);
    slot();
    expect(budget.stats()).toMatchObject({ inUse: 0, waiting: 0 });
  });

  it('rejects a non-positive max', () => {
    expect(() => new ConnectionBudget({ max: 0 })).toThrow(RangeError);
  });
});
