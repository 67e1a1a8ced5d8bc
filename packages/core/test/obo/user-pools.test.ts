/**
 * The user pools on their own, with a manual clock for every token decision (refresh-ahead,
 * expiry): no waiting on the wall clock. Postgres, the proxy and the workspace API are real.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../src/base/errors.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { tokenFingerprint } from '../../src/obo/identity/token-owner.js';
import { UserWorkspaceClients } from '../../src/obo/identity/workspace-clients.js';
import { MissingRoles } from '../../src/obo/missing-roles.js';
import { UserPools, type VerifiedUser } from '../../src/obo/user-pools.js';
import { servicePrincipalPool } from '../../src/pool/service-principal.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { FakeClock } from '../support/fake-clock.js';
import { ALICE, BOB, capturingLogger } from '../support/obo-helpers.js';

const DAVE = 'dave@example.com';
const HOUR = 3_600_000;
let lb: LocalLakebase;
const logger = capturingLogger();

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB, DAVE] });
}, 60_000);
afterAll(async () => {
  await lb?.stop();
});

/** SDK clients as usual, remembering which forwarded token each one acts with. */
class RecordingClients extends UserWorkspaceClients {
  readonly tokens: string[] = [];
  override create(token: string) {
    this.tokens.push(token);
    return super.create(token);
  }
}

function world() {
  const clock = new FakeClock(Date.now());
  const config = resolveConfig({ logger }, lb.env);
  const telemetry = new Telemetry(config.telemetry);
  const sp = servicePrincipalPool(config, telemetry, { ownsTelemetry: false });
  const clients = new RecordingClients({
    host: { workspaceHost: async () => lb.env.DATABRICKS_HOST },
  });
  const pools = new UserPools({
    config,
    settings: {
      max: 2,
      maxConnections: 10,
      maxPools: 10,
      idleTimeoutMillis: 10 * HOUR,
      maxConcurrentVerifications: 32,
      maxQueuedVerifications: 1000,
    },
    telemetry,
    clients,
    missingRoles: new MissingRoles({ sp, endpoint: config.endpoint }),
    clock,
  });
  const close = async () => {
    await pools.close();
    await sp.end();
    clients.close();
  };
  return { clock, pools, clients, close };
}

const user = (identity: string, token = lb.userToken(identity)): VerifiedUser => ({
  identity,
  token,
  fingerprint: tokenFingerprint(token),
});
const calls = (identity: string) => lb.stats().credentialCalls[identity] ?? 0;

describe("a user's token cache refreshes ahead only while the pool is in use", () => {
  it('refreshes ahead while the user pool holds a connection', async () => {
    const { clock, pools, close } = world();
    try {
      const before = calls(ALICE);
      const minting = Date.now();
      await pools.pool(user(ALICE)).query('select 1'); // one idle connection stays open
      const minted = Date.now();
      expect(calls(ALICE)).toBe(before + 1);
      // The token expires an hour after it was minted (between `minting` and `minted`), on a
      // whole second: expire_time has none. It is refreshed 2 minutes before. (Both bounds are
      // the same second unless the query crossed one.)
      const refreshAt = (t: number) => Math.floor(t / 1000) * 1000 + HOUR - 120_000;
      await clock.advance(refreshAt(minting) - 1 - clock.now()); // just before the refresh point
      expect(calls(ALICE)).toBe(before + 1);
      await clock.advance(refreshAt(minted) - clock.now()); // the refresh-ahead timer fires; nobody asked
      await expect.poll(() => calls(ALICE)).toBe(before + 2);
    } finally {
      await close();
    }
  });

  it('goes lazy once the pool has no connection, and fetches again on the next use', async () => {
    const { clock, pools, close } = world();
    try {
      const bob = user(BOB);
      const before = calls(BOB);
      const pool = pools.pool(bob);
      await pool.query('select 1');
      const client = await pool.connect();
      const removed = new Promise((resolve) => pool.once('remove', resolve));
      client.release(true); // the pool is now empty (but kept: it is not idle long enough)
      await removed;
      expect(pool.totalCount).toBe(0);
      await clock.advance(2 * HOUR); // past the refresh point and the expiry
      expect(calls(BOB)).toBe(before + 1);
      const { rows } = await pools.pool(bob).query('select current_user as who');
      expect(rows[0].who).toBe(BOB);
      expect(calls(BOB)).toBe(before + 2);
      expect(pools.stats().pools).toBe(1);
    } finally {
      await close();
    }
  });
});

describe('token rotation', () => {
  it('the newest verified token is the one the next credential fetch uses', async () => {
    const { clock, pools, clients, close } = world();
    try {
      const first = user(DAVE);
      const newest = user(DAVE);
      await pools.pool(first).query('select 1');
      pools.offer(newest); // a later request of dave's, verified, with a newer token
      expect(clients.tokens).toEqual([first.token]);
      await clock.advance(2 * HOUR); // dave's Postgres token is stale now
      const client = await pools.pool(newest).connect();
      client.release(true);
      const { rows } = await pools.pool(newest).query('select current_user as who');
      expect(rows[0].who).toBe(DAVE);
      expect(clients.tokens).toEqual([first.token, newest.token]);
      expect(pools.stats().pools).toBe(1);
    } finally {
      await close();
    }
  });

  it('a verified token that has since expired is an AuthenticationError (401), not a CredentialError', async () => {
    const { pools, close } = world();
    try {
      // verified earlier, expired now: the workspace refuses to mint with it
      const expired = user(ALICE, lb.userToken(ALICE, { ttlSeconds: 0 }));
      const error = await pools
        .pool(expired)
        .query('select 1')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error).toMatchObject({ status: 401, identity: ALICE });
      expect((error as Error).message).toContain('HTTP 401');
      expect((error as Error).message).not.toContain(expired.token);
    } finally {
      await close();
    }
  });

  it('never logs a token', () => {
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });
});
