/**
 * Nothing is retained per query or per departed user (heap measured after forced GC). Bounds:
 * 20,000 `asUser(req).query` on warm users grow the heap by less than 2 MB (< 100 bytes a
 * query), and 5,000 users who made a request and left are released within 2 × idleTimeoutMillis,
 * leaving less than 5 MB behind (< 1 KB a user).
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakebase } from '../../src/lakebase.js';
import {
  type LocalLakebaseProcess,
  startLocalLakebaseProcess,
} from '../support/local-lakebase-process.js';
import { until } from '../support/sp-support.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const MB = 1024 * 1024;
const DEPARTED = Number(process.env.LBK_DEPARTED ?? 5000);
const USERS = Array.from({ length: DEPARTED }, (_, i) => `gone${i}@example.com`);
const WARM = ['warm1@example.com', 'warm2@example.com'];
// The emulator runs in its own process: only our library is in this heap.
let lb: LocalLakebaseProcess;

beforeAll(async () => {
  lb = await startLocalLakebaseProcess([...WARM, ...USERS]);
}, 120_000);
afterAll(async () => {
  await lb?.stop();
});

describe('memory', () => {
  it('20,000 asUser(req).query on warm users retain nothing per query (< 2 MB in all)', async () => {
    const lakebase = createLakebase({ env: lb.env, userPools: { idleTimeoutMillis: 600_000 } });
    try {
      const headers = WARM.map((email) => lb.headers[email]!);
      const run = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const { rows } = await lakebase.asUser(headers[i % 2]!).query('select 1 as one');
          if (rows[0].one !== 1) throw new Error('wrong answer');
        }
      };
      await run(500); // warm: verified, pools open, JIT done
      const before = await heapAfterGc();
      await run(20_000);
      const growth = (await heapAfterGc()) - before;
      console.log('warm growth bytes', growth);
      expect(growth).toBeLessThan(2 * MB);
      expect(lakebase.stats().users).toMatchObject({ pools: 2, scopes: 2 });
    } finally {
      await lakebase.close();
    }
  }, 300_000);

  it('10,000 requests with random 16 KB tokens keep nothing, queue nothing unbounded, evict no one', async () => {
    const lakebase = createLakebase({ env: lb.env, userPools: { idleTimeoutMillis: 600_000 } });
    try {
      const real = lakebase.asUser(lb.headers[WARM[0]!]!);
      await real.query('select 1');
      const warm = lakebase.asUser(lb.headers[WARM[0]!]!); // the cached, verified scope
      const outcomes = new Map<string, number>();
      const flood = (round: number) =>
        Array.from({ length: 10_000 }, (_, i) => {
          // a fresh random token per request, never kept by the test
          const token = `${i}-${randomBytes(6144).toString('base64')}`.slice(0, 16_384);
          return lakebase
            .asUser({
              'x-forwarded-access-token': token,
              'x-forwarded-email': `mallory${round}.${i}@evil.example`,
            })
            .query('select 1')
            .then(
              () => 'ran',
              (error: Error) => error.name,
            )
            .then((name) => outcomes.set(name, (outcomes.get(name) ?? 0) + 1));
        });
      await Promise.all(flood(1)); // warm-up: JIT, sockets, the bounded caches filled
      const before = await heapAfterGc();
      outcomes.clear();
      await Promise.all(flood(2));
      const growth = (await heapAfterGc()) - before;
      console.log('flood growth bytes', growth, Object.fromEntries(outcomes));
      expect(outcomes.get('ran')).toBeUndefined();
      // past 32 in flight + 1,000 waiting, the rest are refused at once (503), never queued
      expect(outcomes.get('OverloadedError')).toBeGreaterThanOrEqual(10_000 - 1032);
      expect(outcomes.get('AuthenticationError')).toBeGreaterThan(0);
      const stats = lakebase.stats().users;
      expect(stats.identityLookups).toBeLessThanOrEqual(1 + 2 * 1032);
      expect(stats).toMatchObject({ scopes: 1, pools: 1, verifiedTokens: 1 });
      expect(growth).toBeLessThan(2 * MB);
      // the real user was not pushed out: the same scope, no new lookup
      expect(lakebase.asUser(lb.headers[WARM[0]!]!)).toBe(warm);
      const report = await lakebase.doctor({ mint: false });
      expect(JSON.stringify(report)).not.toContain('evil.example');
    } finally {
      await lakebase.close();
    }
  }, 300_000);

  it('5,000 departed users are released within 2 × idleTimeoutMillis (< 5 MB left)', async () => {
    const idleTimeoutMillis = 500;
    const lakebase = createLakebase({
      env: lb.env,
      userPools: { idleTimeoutMillis, maxConnections: 40, max: 1 },
    });
    try {
      let next = 0;
      const visit = async (limit: number) => {
        await Promise.all(
          Array.from({ length: 40 }, async () => {
            while (next < limit) {
              const email = USERS[next++]!;
              const { rows } = await lakebase
                .asUser(lb.headers[email]!)
                .query('select current_user as who');
              if (rows[0].who !== email) throw new Error('wrong user');
            }
          }),
        );
      };
      await visit(200); // warm-up users (they leave too)
      await until(() => lakebase.stats().users.pools === 0, 30_000);
      const before = await heapAfterGc();
      await visit(DEPARTED);
      const left = Date.now();
      await until(() => {
        const { users } = lakebase.stats();
        return users.pools === 0 && users.scopes === 0 && users.verifiedTokens === 0;
      }, 60_000);
      expect(Date.now() - left).toBeLessThan(2 * idleTimeoutMillis + 1000);
      const growth = (await heapAfterGc()) - before;
      console.log('departed growth bytes', growth);
      expect(growth).toBeLessThan(5 * MB);
    } finally {
      await lakebase.close();
    }
  }, 600_000);
});
