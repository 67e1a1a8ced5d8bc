/**
 * Read replicas on the local Lakebase's real streaming hot standby: `lakebase.read` and
 * `asUser(req).read` run there, with the same identity rules, and read-your-writes holds: a read
 * that starts after a write's answer sees it — from the replica once it has replayed it, else
 * from the primary (`faults.replicaLag(true)` pauses replay).
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Lakebase, ReplicaBehindError, ValidationError } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, BOB, capturingLogger } from '../support/obo-helpers.js';
import { ownKeys, SQL } from '../support/query-configs.js';

let lb: LocalLakebase;
const opened: Lakebase[] = [];

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB], grantSetRole: true, replicas: 1 });
  const setup = createLakebase({ env: lb.env, logger: capturingLogger() });
  await setup.query(`create schema rr;
    create table rr.notes (id serial primary key, owner text not null default current_user, body text not null);
    alter table rr.notes enable row level security;
    create policy notes_owner on rr.notes using (owner = current_user);
    grant usage on schema rr to public;
    grant select, insert on rr.notes to public;
    grant usage on sequence rr.notes_id_seq to public;
    create table rr.counter (n int);
    insert into rr.counter values (0)`);
  await setup.close();
}, 120_000);
afterEach(() => lb.faults.replicaLag(false));
afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await lb?.stop();
});

function make(options: Parameters<typeof createLakebase>[0] = {}) {
  const replica = lb.replicas[0]!;
  const lakebase = createLakebase({
    env: lb.env,
    logger: capturingLogger(),
    read: { endpoint: replica.endpoint, host: `${replica.host}:${replica.port}`, maxWaitMs: 0 },
    ...options,
  });
  opened.push(lakebase);
  return lakebase;
}

const STANDBY = 'select pg_is_in_recovery() as standby';

describe('read replicas', () => {
  it('lakebase.read runs on the read-only endpoint, lakebase.query on the primary', async () => {
    const lakebase = make();
    expect((await lakebase.read.query(STANDBY)).rows).toEqual([{ standby: true }]);
    expect((await lakebase.query(STANDBY)).rows).toEqual([{ standby: false }]);
    expect(lakebase.read.replica).toBe(true);
    // tokens are minted for the read endpoint
    expect(lb.stats().credentialCalls[lb.servicePrincipal.clientId]).toBeGreaterThanOrEqual(2);
  });

  it('without a read endpoint, read is the primary', async () => {
    const lakebase = createLakebase({ env: lb.env, logger: capturingLogger() });
    opened.push(lakebase);
    expect(lakebase.read.replica).toBe(false);
    expect(lakebase.read.pool).toBe(lakebase.pool);
    expect((await lakebase.read.query(STANDBY)).rows).toEqual([{ standby: false }]);
  });

  it('read-your-writes: a read after a write sees it, from the replica once replayed', async () => {
    const lakebase = make({ read: undefined, env: { ...lb.env, ...readEnv() } });
    for (let i = 1; i <= 20; i++) {
      await lakebase.query('update rr.counter set n = $1', [i]);
      const { rows } = await lakebase.read.query(
        'select n, pg_is_in_recovery() as standby from rr.counter',
      );
      expect(rows[0].n).toBe(i);
    }
    const stats = lakebase.stats().read!;
    expect(stats.writes).toBe(20);
    // the standby keeps up locally: (almost) every read was served there
    expect(stats.primaryFallbacks).toBeLessThan(5);
  });

  it('read-your-writes with the configs apps pass: a getter text, a named config reused', async () => {
    const lakebase = make({ read: undefined, env: { ...lb.env, ...readEnv() } });
    const named = { name: 'bump', text: 'update rr.counter set n = n + 1' };
    const before = ownKeys(named);
    const client = await lakebase.pool.connect();
    try {
      for (let i = 0; i < 3; i++) {
        const write = SQL`update rr.counter set n = ${100 + i}`;
        expect((await client.query(write))?.rowCount).toBe(1);
        expect((await client.query(named))?.rowCount).toBe(1);
        const { rows } = await lakebase.read.query('select n from rr.counter');
        expect(rows[0].n).toBe(101 + i);
      }
    } finally {
      client.release();
    }
    expect(ownKeys(named)).toEqual(before);
    expect(lakebase.stats().read!.writes).toBe(6);
  });

  it('read-your-writes while the replica is stuck: the read runs on the primary and sees the write', async () => {
    const lakebase = make();
    await lakebase.read.query('select 1'); // warm
    await lb.faults.replicaLag(true);
    await lakebase.query('update rr.counter set n = 1000');
    const { rows } = await lakebase.read.query(
      'select n, pg_is_in_recovery() as standby from rr.counter',
    );
    expect(rows).toEqual([{ n: 1000, standby: false }]);
    expect(lakebase.stats().read!.primaryFallbacks).toBe(1);
    // a client checked out of the read pool cannot move: it gets the typed error
    await expect(lakebase.read.pool.connect()).rejects.toBeInstanceOf(ReplicaBehindError);
  });

  it("consistency 'eventual' never waits: the same read then sees the replica's stale row", async () => {
    const replica = lb.replicas[0]!;
    const lakebase = make({
      read: {
        endpoint: replica.endpoint,
        host: `${replica.host}:${replica.port}`,
        consistency: 'eventual',
      },
    });
    await lb.faults.replicaLag(true);
    await lakebase.query('update rr.counter set n = 2000');
    const { rows } = await lakebase.read.query(
      'select n, pg_is_in_recovery() as standby from rr.counter',
    );
    expect(rows[0].standby).toBe(true);
    expect(rows[0].n).not.toBe(2000);
  });

  it.each(['login', 'set-role'] as const)(
    'asUser(req).read (%s): the user on the replica, RLS applies, and sees their own write',
    async (mode) => {
      const lakebase = make({ userPools: { mode } });
      const alice = lakebase.asUser(await lb.userHeaders(ALICE));
      const bob = lakebase.asUser(await lb.userHeaders(BOB));
      await alice.query(`insert into rr.notes (body) values ('alice ${mode}')`);
      await bob.query(`insert into rr.notes (body) values ('bob ${mode}')`);
      const sql =
        'select current_user as who, pg_is_in_recovery() as standby, array_agg(body order by id) as bodies from rr.notes';
      const seen = (await alice.read.query(sql)).rows[0];
      expect(seen.who).toBe(ALICE);
      expect(seen.bodies).toContain(`alice ${mode}`);
      expect(seen.bodies.some((b: string) => b.startsWith('bob'))).toBe(false);
      // its pool view too
      const viaPool = (
        await alice.read.pool.query('select current_user as who, pg_is_in_recovery() as standby')
      ).rows;
      expect(viaPool).toEqual([{ who: ALICE, standby: expect.any(Boolean) }]);
      expect(alice.read.read).toBe(alice.read);
    },
  );

  it("the agent's read-only statement runs on the replica as the user", async () => {
    const lakebase = make({ userPools: { mode: 'set-role' } });
    const alice = lakebase.asUser(await lb.userHeaders(ALICE));
    const result = await alice.read.readOnlyQuery(
      'select current_user as who, session_user as login, pg_is_in_recovery() as standby',
    );
    expect(result.rows).toEqual([{ who: ALICE, login: ALICE, standby: true }]);
  });

  it('a forged token gets nothing on the replica either', async () => {
    const lakebase = make();
    const headers = await lb.userHeaders(ALICE);
    const forged = { ...headers, 'x-forwarded-email': BOB, 'x-forwarded-user': BOB };
    await expect(lakebase.asUser(forged).read.query('select 1')).rejects.toMatchObject({
      status: 401,
    });
  });

  it("read.getPgConfig() with only x-forwarded-user waits for the owner's role, as the primary's does", async () => {
    const lakebase = make();
    const { 'x-forwarded-user': userId, 'x-forwarded-access-token': token } =
      await lb.userHeaders(ALICE);
    const scope = lakebase.asUser({
      'x-forwarded-access-token': token,
      'x-forwarded-user': userId,
    });
    expect(() => scope.read.getPgConfig()).toThrow(ValidationError);
    await scope.read.query('select 1');
    expect(scope.read.getPgConfig().user).toBe(ALICE);
    expect(scope.getPgConfig().user).toBe(ALICE);
  });
});

/** The read endpoint from the environment, as an app's would be (maxWaitMs: the default 200). */
function readEnv(): Record<string, string> {
  const replica = lb.replicas[0]!;
  return {
    LAKEBASE_READ_ENDPOINT: replica.endpoint,
    LAKEBASE_READ_HOST: replica.host,
    LAKEBASE_READ_PORT: String(replica.port),
  };
}
