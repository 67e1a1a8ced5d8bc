import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolBudgetError } from '../src/errors.js';
import { createLakebase, type LakebaseInstance } from '../src/lakebase.js';
import type { LakebaseConfig } from '../src/lakebase-config.js';
import { capturingLogger, createRoles, headersFor } from './obo-helpers.js';

const USERS = Array.from(
  { length: 500 },
  (_, i) => `user${String(i).padStart(3, '0')}@example.com`,
);
let lb: LocalLakebase;
const open: LakebaseInstance[] = [];

function make(userPools: LakebaseConfig['userPools'], extra: Partial<LakebaseConfig> = {}) {
  const logger = capturingLogger();
  const lakebase = createLakebase({ env: lb.env, logger, userPools, ...extra });
  open.push(lakebase);
  return { lakebase, logger };
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function withConcurrency<T>(items: T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await task(item);
      }
    }),
  );
}

beforeAll(async () => {
  lb = await startLocalLakebase();
  await createRoles(lb, USERS);
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
  await lb?.stop();
});

describe('the global user-connection budget', () => {
  it('500 users × 3 queries with a budget of 50: never more than 50 user connections, 0 errors', async () => {
    const { lakebase, logger } = make({ max: 3, maxConnections: 50 });
    lb.resetStats();
    let errors = 0;
    let wrongUser = 0;
    await withConcurrency(USERS, 100, async (user) => {
      const scope = lakebase.asUser(headersFor(lb, user));
      const results = await Promise.allSettled([
        scope.query('select current_user as who'),
        scope.pool.query('select current_user as who'),
        scope.query('select current_user as who, pg_sleep(0.001)'),
      ]);
      for (const result of results) {
        if (result.status === 'rejected') errors++;
        else if (result.value.rows[0].who !== user) wrongUser++;
      }
    });
    const proxy = lb.stats();
    const ours = lakebase.stats().users;
    expect(errors).toBe(0);
    expect(wrongUser).toBe(0);
    expect(proxy.peakConnections).toBeLessThanOrEqual(50);
    expect(proxy.peakConnections).toBeGreaterThan(3);
    expect(ours.peakConnections).toBeLessThanOrEqual(50);
    expect(ours.connections).toBeLessThanOrEqual(50);
    expect(ours.pools).toBe(500);
    expect(ours.waits).toBeGreaterThan(0); // the budget was actually the limit
    expect(ours.reclaims).toBeGreaterThan(0); // idle connections of other users made room
    expect(ours.budgetTimeouts).toBe(0);
    expect(proxy.credentialCallsTotal).toBe(500);
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  }, 120_000);

  it('fails with PoolBudgetError after connectionTimeoutMillis when every slot is busy', async () => {
    const { lakebase } = make({ max: 2, maxConnections: 2 }, { connectionTimeoutMillis: 300 });
    const [a, b, c] = USERS.slice(30);
    const loginsOfC = lb.stats().connections[c!]?.total ?? 0;
    const held = [
      await lakebase.asUser(headersFor(lb, a!)).pool.connect(),
      await lakebase.asUser(headersFor(lb, b!)).pool.connect(),
    ];
    try {
      const error = await lakebase
        .asUser(headersFor(lb, c!))
        .query('select 1')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PoolBudgetError);
      expect((error as PoolBudgetError).status).toBe(503);
      const stats = lakebase.stats().users;
      expect(stats.budgetTimeouts).toBe(1);
      expect(stats.peakConnections).toBe(2);
      expect(lb.stats().connections[c!]?.total ?? 0).toBe(loginsOfC); // never even connected
    } finally {
      for (const client of held) client.release();
    }
    // with the slots back (idle), the same user gets in by reclaiming an idle connection
    const { rows } = await lakebase.asUser(headersFor(lb, c!)).query('select current_user as who');
    expect(rows[0].who).toBe(c);
    expect(lakebase.stats().users.reclaims).toBeGreaterThan(0);
    expect(lakebase.stats().users.peakConnections).toBe(2);
  });

  it('a failed login gives its slot back', async () => {
    const { lakebase } = make({ max: 1, maxConnections: 1 }, { connectionTimeoutMillis: 2000 });
    // a workspace user without a Postgres role: the login fails (28000 or 28P01, retried once)
    const ghost = lakebase.asUser(headersFor(lb, 'ghost@example.com'));
    const error = await ghost.query('select 1').catch((e: unknown) => e);
    expect(['28P01', '28000']).toContain((error as { code?: string }).code);
    // with a budget of one, the next user only gets in if that slot came back
    const user = USERS[40]!;
    const { rows } = await lakebase
      .asUser(headersFor(lb, user))
      .query('select current_user as who');
    expect(rows[0].who).toBe(user);
    expect(lakebase.stats().users).toMatchObject({ peakConnections: 1, budgetTimeouts: 0 });
  });

  it('maxPools evicts the least recently used pool and fires its scopes onClose', async () => {
    const { lakebase } = make({ max: 1, maxConnections: 10, maxPools: 2 });
    const [a, b, c] = USERS.slice(10);
    const scopeA = lakebase.asUser(headersFor(lb, a!));
    let closedA = 0;
    scopeA.onClose(() => closedA++);
    await scopeA.query('select 1');
    await lakebase.asUser(headersFor(lb, b!)).query('select 1');
    expect(closedA).toBe(0);
    await lakebase.asUser(headersFor(lb, c!)).query('select 1');
    expect(closedA).toBe(1);
    const stats = lakebase.stats().users;
    expect(stats.pools).toBe(2);
    expect(stats.evictions).toBe(1);
    // the evicted user's old scope still works (a new pool, as that user)
    const { rows } = await scopeA.query('select current_user as who');
    expect(rows[0].who).toBe(a);
    expect(lakebase.asUser(headersFor(lb, a!))).not.toBe(scopeA);
  });

  it('an empty pool is dropped after idleTimeoutMillis', async () => {
    const { lakebase } = make({ max: 1, maxConnections: 5, idleTimeoutMillis: 100 });
    const user = USERS[20]!;
    const scope = lakebase.asUser(headersFor(lb, user));
    const dropped = new Promise<void>((resolve) => scope.onClose(resolve));
    await scope.query('select 1');
    expect(lakebase.stats().users.pools).toBe(1);
    await dropped;
    const stats = lakebase.stats().users;
    expect(stats.pools).toBe(0);
    expect(stats.idleDrops).toBe(1);
    expect(stats.connections).toBe(0);
  });
});
