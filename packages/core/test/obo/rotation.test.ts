import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lakebase as LakebaseInstance } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, BOB, capturingLogger, headersFor } from '../support/obo-helpers.js';

const CAROL = 'carol@example.com';
const DAVE = 'dave@example.com';
let lb: LocalLakebase;
let lakebase: LakebaseInstance;
const logger = capturingLogger();

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB, CAROL, DAVE] });
  lakebase = createLakebase({ env: lb.env, logger });
}, 60_000);

afterAll(async () => {
  await lakebase?.close();
  await lb?.stop();
});

describe('token rotation and warm users', () => {
  it('a new forwarded token on every request: one pool per user, credential calls bounded by token lifetimes', async () => {
    lb.resetStats();
    const users = [ALICE, BOB, CAROL];
    const requests = 20;
    const scopes = new Set<unknown>();
    for (let i = 0; i < requests; i++) {
      await Promise.all(
        users.map(async (user) => {
          const scope = lakebase.asUser(headersFor(lb, user)); // a fresh token each time
          scopes.add(scope);
          const { rows } = await scope.query('select current_user as who');
          expect(rows[0].who).toBe(user);
        }),
      );
    }
    const stats = lakebase.stats().users;
    expect(stats.pools).toBe(users.length);
    expect(scopes.size).toBe(users.length * requests);
    // Postgres tokens live an hour: one credential call per user, whatever the request count
    const calls = lb.stats().credentialCalls;
    for (const user of users) expect(calls[user]).toBe(1);
    // each new token is verified once (SCIM Me), never once per query
    expect(stats.verifications).toBe(users.length * requests);
    // one SDK client per token verified, plus one per token minted with: never per query
    expect(stats.sdkClients).toBe(users.length * requests + users.length);
    // pools survived rotation: no more logins than connections the pools ever needed
    for (const user of users) {
      expect(lb.stats().connections[user]!.total).toBeLessThanOrEqual(3);
    }
  });

  it('asUser on a warm user does no I/O and returns the same scope object', async () => {
    const headers = headersFor(lb, BOB);
    const scope = lakebase.asUser(headers);
    await scope.query('select 1'); // warm: verified, pool open, token cached
    const api = lb.stats();
    const ours = lakebase.stats().users;
    for (let i = 0; i < 200; i++) {
      const again = lakebase.asUser({ headers: { ...headers } });
      expect(again).toBe(scope);
    }
    const apiAfter = lb.stats();
    const oursAfter = lakebase.stats().users;
    expect(apiAfter.credentialCallsTotal).toBe(api.credentialCallsTotal);
    expect(apiAfter.authAttempts).toBe(api.authAttempts);
    expect(oursAfter.identityLookups).toBe(ours.identityLookups);
    expect(oursAfter.sdkClients).toBe(ours.sdkClients);
    // and the query path on a warm scope reuses the open connection (no new login)
    await scope.query('select 1');
    expect(lb.stats().authAttempts).toBe(api.authAttempts);
    expect(lb.stats().credentialCallsTotal).toBe(api.credentialCallsTotal);
  });

  it('never logs a token', () => {
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });
});
