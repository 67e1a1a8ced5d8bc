import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLakebase, type LakebaseInstance } from '../src/lakebase.js';
import { ALICE, BOB, headersFor } from './obo-helpers.js';

let lb: LocalLakebase;
let lakebase: LakebaseInstance;
const calls = (identity: string) => lb.stats().credentialCalls[identity] ?? 0;

beforeAll(async () => {
  // 3-second Postgres tokens: refresh-ahead (at half-life) is observable within seconds
  lb = await startLocalLakebase({ users: [ALICE, BOB], tokenTtlSeconds: 3 });
  lakebase = createLakebase({ env: lb.env, userPools: { idleTimeoutMillis: 60_000 } });
}, 60_000);

afterAll(async () => {
  await lakebase?.close();
  await lb?.stop();
});

describe("a user's token cache refreshes ahead only while the pool is in use", () => {
  it('refreshes ahead while the user pool holds connections', async () => {
    await lakebase.asUser(headersFor(lb, ALICE)).query('select 1'); // one idle connection stays open
    expect(calls(ALICE)).toBe(1);
    // no further requests: only the refresh-ahead timer can fetch again
    await vi.waitFor(() => expect(calls(ALICE)).toBeGreaterThanOrEqual(2), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it('goes lazy once the pool has no connection, and fetches again on the next use', async () => {
    const headers = headersFor(lb, BOB);
    const scope = lakebase.asUser(headers);
    await scope.query('select 1');
    expect(calls(BOB)).toBe(1);
    const client = await scope.pool.connect();
    client.release(true); // the pool is now empty (but kept: idleTimeoutMillis is a minute)
    expect(scope.pool.totalCount).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 3500)); // past the refresh point and expiry
    expect(calls(BOB)).toBe(1);
    expect(lakebase.stats().users.pools).toBe(2);
    const { rows } = await lakebase.asUser(headers).query('select current_user as who');
    expect(rows[0].who).toBe(BOB);
    expect(calls(BOB)).toBe(2);
  });
});
