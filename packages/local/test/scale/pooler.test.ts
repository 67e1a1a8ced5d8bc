/**
 * The pooled host: a real PgBouncer 1.18 in transaction mode behind a token-checking door.
 * Many clients share a few server connections; OAuth logins can be switched off there (then
 * only native password roles get in); and what transaction mode does to named prepared
 * statements shows as it does on a real pooler. No sleeps: waits are on PgBouncer's own
 * counters (`SHOW POOLS`).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, PoolerUnavailableError, startLocalLakebase } from '../../src/index.js';
import { TOKEN_PATTERN } from '../../src/testing.js';
import { connectAt, loginErrorAt, waitFor } from '../helpers.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const POOL_SIZE = 3;
let lb: LocalLakebase;

const logLines: string[] = [];

beforeAll(async () => {
  lb = await startLocalLakebase({
    users: [ALICE],
    pooler: { poolSize: POOL_SIZE },
    log: (line) => logLines.push(line),
  });
});
afterEach(() => {
  lb.pooler!.acceptOAuth(true);
  lb.faults.reset();
});
afterAll(async () => {
  await lb?.stop();
});

const pooled = () => lb.pooler!;
const token = (identity: string) => lb.mintPgToken(identity).token;

async function poolOf(user: string) {
  return (await pooled().pools()).find((pool) => pool.user === user);
}

describe('the pooled host', () => {
  it('is a host of its own, in lb.env and lb.pooler.env; the endpoint names it', async () => {
    expect(pooled().host).not.toBe(lb.env.PGHOST);
    expect(lb.env.LAKEBASE_POOLER_HOST).toBe(pooled().host);
    expect(lb.env.LAKEBASE_POOLER_PORT).toBe(String(pooled().port));
    expect(pooled().env).toMatchObject({
      PGHOST: pooled().host,
      PGPORT: String(pooled().port),
      LAKEBASE_ENDPOINT: lb.endpoint,
    });
    expect(pooled().env.LAKEBASE_POOLER_HOST).toBeUndefined();
    const answer = await fetch(`${lb.host}/api/2.0/postgres/${lb.endpoint}`, {
      headers: { authorization: `Bearer ${lb.userToken(lb.projectOwner)}` },
    });
    const endpoint = (await answer.json()) as { status: { hosts: Record<string, string> } };
    expect(endpoint.status.hosts).toEqual({
      host: lb.env.PGHOST,
      read_write_pooled_host: pooled().host,
    });
  });

  it('takes OAuth tokens by default: the user is who logged in, in transaction mode', async () => {
    const alice = await connectAt(lb, pooled(), ALICE, token(ALICE));
    expect((await alice.query('select current_user as u')).rows[0].u).toBe(ALICE);
    await alice.end();
    expect((await poolOf(ALICE))?.poolMode).toBe('transaction');
  });

  it(`50 concurrent clients share at most ${POOL_SIZE} server connections`, async () => {
    const sp = lb.env.PGUSER;
    const clients = await Promise.all(
      Array.from({ length: 50 }, () => connectAt(lb, pooled(), sp, token(sp))),
    );
    try {
      // Three clients hold the three server connections in open transactions ...
      const holders = clients.slice(0, POOL_SIZE);
      for (const holder of holders) await holder.query('begin; select 1');
      // ... so the other 47 queue for them.
      const queued = clients
        .slice(POOL_SIZE)
        .map((client) => client.query('select pg_backend_pid() as pid'));
      let waiting = 0;
      await waitFor(
        () => waiting === 47,
        '47 clients waiting in PgBouncer',
        10_000,
        async () => {
          waiting = (await poolOf(sp))?.clientsWaiting ?? 0;
        },
      );
      const pool = (await poolOf(sp))!;
      expect(pool.clientsActive + pool.clientsWaiting).toBe(50);
      expect(pool.serversActive + pool.serversIdle + pool.serversUsed).toBeLessThanOrEqual(
        POOL_SIZE,
      );
      const backends = await lb.sql(
        "select count(*)::int as n from pg_stat_activity where usename = $1 and backend_type = 'client backend'",
        [sp],
      );
      expect(backends[0].n).toBeLessThanOrEqual(POOL_SIZE);
      for (const holder of holders) await holder.query('commit');
      const pids = new Set((await Promise.all(queued)).map((result) => result.rows[0].pid));
      expect(pids.size).toBeGreaterThan(0);
      expect(pids.size).toBeLessThanOrEqual(POOL_SIZE);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });

  it('with OAuth switched off, tokens get 28P01 and only a password role gets in', async () => {
    const password = await lb.createPasswordRole('app_pooled');
    pooled().acceptOAuth(false);
    expect(pooled().acceptsOAuth).toBe(false);
    const refused = await loginErrorAt(lb, pooled(), ALICE, token(ALICE));
    expect(refused.code).toBe('28P01');
    expect(refused.message).toBe(`password authentication failed for user "${ALICE}"`);
    const wrong = await loginErrorAt(lb, pooled(), 'app_pooled', `${password}x`);
    expect(wrong.code).toBe('28P01');
    const app = await connectAt(lb, pooled(), 'app_pooled', password);
    expect((await app.query('select current_user as u')).rows[0].u).toBe('app_pooled');
    await app.end();
    // The direct host still takes tokens (and the password role too).
    const direct = { host: lb.env.PGHOST, port: lb.proxyPort };
    const alice = await connectAt(lb, direct, ALICE, token(ALICE));
    await alice.end();
    const appDirect = await connectAt(lb, direct, 'app_pooled', password);
    await appDirect.end();
    pooled().acceptOAuth(true);
    const back = await connectAt(lb, pooled(), ALICE, token(ALICE));
    await back.end();
    // Refused tokens and passwords are logged by who, never by value.
    const log = logLines.join('\n');
    expect(log).toContain('OAuth token logins are switched off');
    expect(log).not.toMatch(TOKEN_PATTERN);
    expect(log).not.toContain(password);
  });

  it("a password role may be granted SET on users' roles (set-role mode through the pooler)", async () => {
    const password = await lb.createPasswordRole('app_setrole');
    const app = await connectAt(lb, pooled(), 'app_setrole', password);
    const denied = await app
      .query(`begin; set local role "${ALICE}"`)
      .catch((error: Error & { code?: string }) => error);
    expect((denied as { code?: string }).code).toBe('42501');
    await app.query('rollback');
    await lb.grantSetRole(ALICE, true, 'app_setrole');
    await app.query(`begin; set local role "${ALICE}"`);
    expect((await app.query('select current_user as u')).rows[0].u).toBe(ALICE);
    await app.query('commit');
    expect((await app.query('select current_user as u')).rows[0].u).toBe('app_setrole');
    await app.end();
    const [role] = await lb.sql(
      "select rolcanlogin, rolpassword like 'SCRAM-SHA-256$%' as scram from pg_authid where rolname = $1",
      ['app_setrole'],
    );
    expect(role).toEqual({ rolcanlogin: true, scram: true });
  });

  it('PgBouncer 1.18 in transaction mode: named prepared statements break (42P05, 26000)', async () => {
    await lb.addUser('prep@example.com');
    const user = 'prep@example.com';
    const named = { name: 'q', text: 'select $1::int as v', values: [1] };
    const a = await connectAt(lb, pooled(), user, token(user));
    const b = await connectAt(lb, pooled(), user, token(user));
    const holder = await connectAt(lb, pooled(), user, token(user));
    try {
      // a prepares "q" on the pool's one server connection.
      expect((await a.query(named)).rows).toEqual([{ v: 1 }]);
      // b's own "q" lands on that same server connection, which already has one.
      const clash = await b.query(named).catch((error: Error & { code?: string }) => error);
      expect((clash as { code?: string }).code).toBe('42P05');
      // While that server connection is held, a's cached "q" is bound on a new one: unknown.
      await holder.query('begin; select 1');
      const missing = await a.query(named).catch((error: Error & { code?: string }) => error);
      expect((missing as { code?: string }).code).toBe('26000');
      await holder.query('commit');
      // Unnamed (the default) parameterized queries work whichever server they land on.
      expect((await b.query('select $1::int as v', [2])).rows).toEqual([{ v: 2 }]);
    } finally {
      await Promise.all([a, b, holder].map((client) => client.end().catch(() => undefined)));
    }
  });

  it('scale to zero ends pooled sessions too (57P01); new ones are refused (57P03) until woken', async () => {
    const alice = await connectAt(lb, pooled(), ALICE, token(ALICE));
    const ended = new Promise<Error>((resolve) => alice.once('error', resolve));
    await lb.faults.suspend({ mode: 'refuse' });
    expect(((await ended) as Error & { code?: string }).code).toBe('57P01');
    expect((await loginErrorAt(lb, pooled(), ALICE, token(ALICE))).code).toBe('57P03');
    lb.faults.wake();
    const again = await connectAt(lb, pooled(), ALICE, token(ALICE));
    await again.end();
  });
});

describe('without PgBouncer', () => {
  it('startLocalLakebase({ pooler: true }) fails at once, naming the Debian package', async () => {
    const saved = process.env.LAKEBASE_KIT_PGBOUNCER;
    process.env.LAKEBASE_KIT_PGBOUNCER = '/nonexistent/pgbouncer';
    const lines: string[] = [];
    try {
      const error = await startLocalLakebase({ pooler: true, log: (line) => lines.push(line) })
        .then(async (started) => {
          await started.stop();
          throw new Error('started without PgBouncer');
        })
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(PoolerUnavailableError);
      expect(error.message).toContain('apt-get install pgbouncer');
      expect((error as PoolerUnavailableError).install).toBe('apt-get install pgbouncer');
      // Nothing started: Postgres never logged a line.
      expect(lines).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.LAKEBASE_KIT_PGBOUNCER;
      else process.env.LAKEBASE_KIT_PGBOUNCER = saved;
    }
  });
});

describe('a compute with a connection limit (maxConnections, pooler.maxDbConnections)', () => {
  it('Postgres takes maxConnections; PgBouncer keeps to maxDbConnections across users, clients wait', async () => {
    const small = await startLocalLakebase({
      users: [ALICE, BOB],
      maxConnections: 104,
      pooler: { poolSize: 5, maxDbConnections: 2 },
    });
    try {
      expect(await small.sql('show max_connections')).toEqual([{ max_connections: '104' }]);
      const at = small.pooler!;
      // the admin console answers before anyone logged in through the pooled host
      expect(await at.pools()).toEqual([]);
      const alice = await connectAt(small, at, ALICE, small.mintPgToken(ALICE).token);
      const bob = await connectAt(small, at, BOB, small.mintPgToken(BOB).token);
      const sp = small.env.PGUSER;
      const third = await connectAt(small, at, sp, small.mintPgToken(sp).token);
      try {
        await alice.query('begin; select 1');
        await bob.query('begin; select 1');
        // both server connections of the database are taken: the SP's statement waits
        const waiting = third.query('select current_user as who');
        let queued = 0;
        await waitFor(
          () => queued === 1,
          'the third client waiting',
          10_000,
          async () => {
            queued = (await at.pools()).find((pool) => pool.user === sp)?.clientsWaiting ?? 0;
          },
        );
        const backends = await small.sql(
          "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and usename in ($1, $2, $3)",
          [ALICE, BOB, sp],
        );
        expect(backends[0].n).toBe(2);
        await alice.query('commit');
        // alice's server connection is idle now: PgBouncer gives the database's slot to the SP
        expect((await waiting).rows).toEqual([{ who: sp }]);
        await bob.query('commit');
      } finally {
        await Promise.all([alice.end(), bob.end(), third.end()]);
      }
    } finally {
      await small.stop();
    }
  });
});
