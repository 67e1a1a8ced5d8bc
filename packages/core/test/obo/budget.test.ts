import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, PoolBudgetError } from '../../src/base/errors.js';
import type { LakebaseConfig } from '../../src/config/lakebase-options.js';
import type { Lakebase as LakebaseInstance } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { capturingLogger, createRoles, headersFor } from '../support/obo-helpers.js';
import { until } from '../support/sp-support.js';

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
    expect(ours.pools + ours.idleDrops).toBe(500); // a slow run may drop the first idle pools
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

  it('a connect waiting for a slot has its token minted meanwhile: the slot is held for the login only', async () => {
    const { lakebase } = make({ max: 1, maxConnections: 1 }, { connectionTimeoutMillis: 10_000 });
    const [a, b] = USERS.slice(60);
    const held = await lakebase.asUser(headersFor(lb, a!)).pool.connect();
    const callsOf = (user: string) => lb.stats().credentialCalls[user] ?? 0;
    const before = callsOf(b!);
    const waiting = lakebase.asUser(headersFor(lb, b!)).query('select current_user as who');
    try {
      // b's token arrives while a still holds the only slot (no wall-clock wait: a signal)
      await until(() => callsOf(b!) === before + 1, 5000);
      expect(lakebase.stats().users.peakConnections).toBe(1);
    } finally {
      held.release();
    }
    const { rows } = await waiting;
    expect(rows[0].who).toBe(b);
    expect(callsOf(b!)).toBe(before + 1); // the login used that very token
  });

  it('a user without a Postgres role: a typed 403 naming the fix, its slot back, no retry storm', async () => {
    const { lakebase, logger } = make(
      { max: 1, maxConnections: 1 },
      { connectionTimeoutMillis: 2000 },
    );
    // a workspace user without a Postgres role: the login fails (28000 or 28P01)
    const headers = headersFor(lb, 'ghost@example.com');
    const ghost = lakebase.asUser(headers);
    await lakebase.query('select 1'); // the SP is logged in already (it looks the role up)
    lb.resetStats();
    const error = await ghost.query('select 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 403, identity: 'ghost@example.com' });
    const message = (error as Error).message;
    expect(message).toContain('"ghost@example.com" has no Postgres role');
    expect(message).toContain(`databricks postgres create-role projects/local/branches/main`);
    expect(message).toContain('"postgres_role":"ghost@example.com"');
    expect(message).not.toContain(headers['x-forwarded-access-token']);
    const first = lb.stats();
    expect(first.authAttempts).toBe(1); // no retry with a fresh token: the role is missing
    // asking again fails at once: no login, no credential call
    const again = await lakebase
      .asUser(headers)
      .query('select 1')
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(AuthenticationError);
    expect(lb.stats().authAttempts).toBe(first.authAttempts);
    expect(lb.stats().credentialCallsTotal).toBe(first.credentialCallsTotal);
    // with a budget of one, the next user only gets in if that slot came back
    const user = USERS[40]!;
    const { rows } = await lakebase
      .asUser(headersFor(lb, user))
      .query('select current_user as who');
    expect(rows[0].who).toBe(user);
    expect(lakebase.stats().users).toMatchObject({ peakConnections: 1, budgetTimeouts: 0 });
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });

  it('maxPools evicts the least recently used pool; its queued requests are served, none fails', async () => {
    const { lakebase } = make({ max: 1, maxConnections: 10, maxPools: 2 });
    const [a, b, c, d] = USERS.slice(10);
    const scopeA = lakebase.asUser(headersFor(lb, a!));
    const held = await scopeA.pool.connect(); // a's only connection is busy…
    const queued = [1, 2, 3].map((i) =>
      scopeA.query('select current_user as who, $1::int as i', [i]),
    ); // …so these wait in a's pool
    await until(() => scopeA.pool.waitingCount === 3);
    // two other users push a's pool out of the cap while its requests are queued
    await lakebase.asUser(headersFor(lb, b!)).query('select 1');
    await lakebase.asUser(headersFor(lb, c!)).query('select 1');
    expect(lakebase.stats().users).toMatchObject({ pools: 2, evictions: 1 });
    held.release();
    const results = await Promise.allSettled(queued);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(
      results.map(
        (r) => (r as PromiseFulfilledResult<{ rows: Array<{ who: string }> }>).value.rows[0]!.who,
      ),
    ).toEqual([a, a, a]);
    // the evicted user's scope still works (a new pool, as that user)
    const { rows } = await scopeA.query('select current_user as who');
    expect(rows[0].who).toBe(a);
    await lakebase.asUser(headersFor(lb, d!)).query('select 1');
    expect(lakebase.stats().users.evictions).toBe(3);
  });

  it('an empty pool is dropped after idleTimeoutMillis', async () => {
    const { lakebase } = make({ max: 1, maxConnections: 5, idleTimeoutMillis: 100 });
    const user = USERS[20]!;
    const scope = lakebase.asUser(headersFor(lb, user));
    const forgotten = new Promise<void>((resolve) => scope.onClose(resolve));
    await scope.query('select 1');
    expect(lakebase.stats().users.pools).toBe(1);
    await forgotten; // the scope cache forgets the unused scope…
    await until(() => lakebase.stats().users.pools === 0); // …and the user pools the empty pool
    const stats = lakebase.stats().users;
    expect(stats.pools).toBe(0);
    expect(stats.idleDrops).toBe(1);
    expect(stats.connections).toBe(0);
  });
});
