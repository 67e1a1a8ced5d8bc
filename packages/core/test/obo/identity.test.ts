import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, CredentialError } from '../../src/base/errors.js';
import type { Lakebase as LakebaseInstance } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import {
  ALICE,
  BOB,
  capturingLogger,
  createNotesTable,
  headersFor,
} from '../support/obo-helpers.js';

let lb: LocalLakebase;
let lakebase: LakebaseInstance;
const logger = capturingLogger();

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  lakebase = createLakebase({ env: lb.env, logger });
  await createNotesTable(lb, (text) => lakebase.query(text), [ALICE, BOB]);
  await lakebase.query(
    `insert into notes (owner, body) values ($1, 'alice secret'), ($2, 'bob secret')`,
    [ALICE, BOB],
  );
}, 60_000);

afterAll(async () => {
  await lakebase?.close();
  await lb?.stop();
});

/** alice's real token, claiming to be bob. */
function forged(): Record<string, string> {
  return { 'x-forwarded-access-token': lb.userToken(ALICE), 'x-forwarded-email': BOB };
}

/** Every way of running SQL through a scope; each must fail with a 401 and return no rows. */
async function expectEveryPathRejected(headers: Record<string, string>, token: string) {
  const scope = lakebase.asUser(headers);
  const attempts: Array<Promise<unknown>> = [
    scope.query('select body from notes'),
    scope.pool.query('select body from notes'),
    scope.pool.connect().then(async (client) => {
      try {
        return await client.query('select body from notes');
      } finally {
        client.release();
      }
    }),
    (scope.getPgConfig().password as () => Promise<string>)(),
  ];
  for (const attempt of attempts) {
    const error = await attempt.then(
      (value) => {
        throw new Error(`expected a 401, got ${JSON.stringify(value)}`);
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(401);
    expect(String((error as Error).message)).not.toContain(token);
  }
  expect(scope.pool.totalCount).toBe(0); // bob's pool is not even visible through this scope
  return scope;
}

describe('a token is bound to its identity', () => {
  it("alice's token claiming bob is a 401 while bob's pool is cold, and creates nothing", async () => {
    const before = lb.stats();
    const headers = forged();
    await expectEveryPathRejected(headers, headers['x-forwarded-access-token']!);
    const after = lb.stats();
    expect(after.credentialCalls[BOB] ?? 0).toBe(before.credentialCalls[BOB] ?? 0);
    expect(after.credentialCalls[ALICE] ?? 0).toBe(before.credentialCalls[ALICE] ?? 0);
    expect(after.connections[BOB]?.total ?? 0).toBe(0);
    expect(lakebase.stats().users.pools).toBe(0);
    expect(lakebase.stats().users.verificationFailures).toBeGreaterThan(0);
  });

  it("alice's token claiming bob is a 401 while bob's pool is warm; bob's pool and token are untouched", async () => {
    const bob = lakebase.asUser(headersFor(lb, BOB));
    expect((await bob.query('select body from notes')).rows).toEqual([{ body: 'bob secret' }]);
    const before = lb.stats();
    const bobConnections = lakebase.stats().users.connections;

    const headers = forged();
    await expectEveryPathRejected(headers, headers['x-forwarded-access-token']!);

    expect(lb.stats().credentialCalls[BOB]).toBe(before.credentialCalls[BOB]);
    expect(lakebase.stats().users.connections).toBe(bobConnections);

    // Bob's stored forwarded token is still bob's: force a fresh login with a fresh credential.
    lb.faults.revoke(BOB);
    const client = await bob.pool.connect();
    client.release(true); // drop the warm connection so the next query logs in again
    const { rows } = await bob.query('select body, current_user as who from notes');
    expect(rows).toEqual([{ body: 'bob secret', who: BOB }]);
    expect(lb.stats().credentialCalls[BOB]).toBe((before.credentialCalls[BOB] ?? 0) + 1);
  });

  it('a failing scope is not cached (nor its token); asking again does no lookup and still fails', async () => {
    const headers = forged();
    const scopes = lakebase.stats().users.scopes;
    const first = lakebase.asUser(headers);
    await expect(first.query('select 1')).rejects.toBeInstanceOf(AuthenticationError);
    const lookups = lakebase.stats().users.identityLookups;
    const again = lakebase.asUser(headers);
    expect(again).not.toBe(first);
    await expect(again.query('select 1')).rejects.toMatchObject({ status: 401 });
    expect(lakebase.stats().users.identityLookups).toBe(lookups);
    expect(lakebase.stats().users.scopes).toBe(scopes);
  });

  it("alice's token still works for alice", async () => {
    const token = lb.userToken(ALICE);
    await expect(
      lakebase
        .asUser({ 'x-forwarded-access-token': token, 'x-forwarded-email': BOB })
        .query('select 1'),
    ).rejects.toBeInstanceOf(AuthenticationError);
    const { rows } = await lakebase
      .asUser({ 'x-forwarded-access-token': token, 'x-forwarded-email': ALICE })
      .query('select body, current_user as who from notes');
    expect(rows).toEqual([{ body: 'alice secret', who: ALICE }]);
  });

  it('identities are compared exactly, as Postgres compares roles: no case or Unicode folding', async () => {
    const KATE = 'kate@example.com';
    await lb.addUser(KATE);
    lb.resetStats();
    // alice's own token, her email in another case; kate's token with U+212A KELVIN SIGN for "k"
    const variants = [
      { 'x-forwarded-access-token': lb.userToken(ALICE), 'x-forwarded-email': 'ALICE@EXAMPLE.COM' },
      {
        'x-forwarded-access-token': lb.userToken(KATE),
        'x-forwarded-email': '\u212Aate@example.com',
      },
    ];
    for (const headers of variants) {
      const error = await lakebase
        .asUser(headers)
        .query('select 1')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).status).toBe(401);
      expect((error as Error).message).toContain('compared exactly');
    }
    // rejected before any login: no 28P01 from Postgres
    expect(lb.stats().authAttempts).toBe(0);
    const { rows } = await lakebase
      .asUser(headersFor(lb, KATE))
      .query('select current_user as who');
    expect(rows[0].who).toBe(KATE);
  });

  it('a token the workspace does not know is a 401', async () => {
    const token = 'lbk_at_not-a-real-token';
    const scope = lakebase.asUser({
      'x-forwarded-access-token': token,
      'x-forwarded-email': ALICE,
    });
    const error = await scope.query('select 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).not.toContain(token);
  });

  it('an unreachable workspace is a retryable CredentialError that is not remembered', async () => {
    const offline = createLakebase({
      env: { ...lb.env, DATABRICKS_HOST: 'http://127.0.0.1:9' },
      logger,
    });
    try {
      const headers = headersFor(lb, ALICE);
      const scope = offline.asUser(headers);
      const error = await scope.query('select 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialError);
      expect((error as CredentialError).retryable).toBe(true);
      expect((error as Error).message).not.toContain(headers['x-forwarded-access-token']);
      // the failure is not remembered: the next request asks the workspace again
      const lookups = offline.stats().users.identityLookups;
      await offline
        .asUser(headers)
        .query('select 1')
        .catch(() => undefined);
      expect(offline.stats().users.identityLookups).toBe(lookups + 1);
      expect(offline.stats().users.verifiedTokens).toBe(0);
      expect(offline.stats().users.pools).toBe(0);
    } finally {
      await offline.close();
    }
  });

  it('never logs a token', () => {
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });
});
