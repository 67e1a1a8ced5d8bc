/**
 * Pooled mode on the local Lakebase's real PgBouncer (transaction mode, one server connection
 * per user and database here, so what one client leaves on it is what the next one gets).
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lakebase, PoolerSessionError } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, BOB, capturingLogger } from '../support/obo-helpers.js';
import { ownKeys, SQL } from '../support/query-configs.js';

let lb: LocalLakebase;
let sp: string;
const opened: Lakebase[] = [];

beforeAll(async () => {
  lb = await startLocalLakebase({
    users: [ALICE, BOB],
    grantSetRole: true,
    pooler: { poolSize: 1 },
  });
  sp = lb.servicePrincipal.clientId;
  const setup = make({ pooler: false });
  await setup.query(`create schema pl;
    create table pl.notes (id serial primary key, owner text not null default current_user, body text not null);
    alter table pl.notes enable row level security;
    create policy notes_owner on pl.notes using (owner = current_user);
    grant usage on schema pl to public;
    grant select, insert on pl.notes to public;
    grant usage on sequence pl.notes_id_seq to public`);
  await setup.query(`insert into pl.notes (owner, body) values ($1, 'alice 1'), ($2, 'bob 1')`, [
    ALICE,
    BOB,
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await lb?.stop();
});

function make(options: Parameters<typeof createLakebase>[0] = {}, logger = capturingLogger()) {
  const lakebase = createLakebase({ env: lb.env, logger, pooler: true, max: 2, ...options });
  opened.push(lakebase);
  return lakebase;
}

/** A raw client of the pooler as the service principal, as any other client of it could be. */
async function rawPoolerClient(): Promise<pg.Client> {
  const pooler = lb.pooler!;
  const client = new pg.Client({
    host: pooler.host,
    port: pooler.port,
    database: lb.database,
    user: sp,
    password: lb.mintPgToken(sp).token,
    ssl: { ca: lb.tls!.caPem, host: pooler.host },
  });
  await client.connect();
  return client;
}

describe('pooled mode', () => {
  it("runs the SP's work through PgBouncer (LAKEBASE_POOLER_HOST/PORT), one server connection", async () => {
    const lakebase = make();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => lakebase.query('select current_user as who')),
    );
    expect(results.map((r) => r.rows[0].who)).toEqual(Array(8).fill(sp));
    const pools = await lb.pooler!.pools();
    expect(pools.find((p) => p.user === sp)).toMatchObject({ database: lb.database });
    expect(lakebase.stats().pooler?.sp).toMatchObject({
      host: lb.pooler!.host,
      port: lb.pooler!.port,
      pooled: true,
      fellBack: undefined,
    });
  });

  it('refuses what needs a session, before sending it, and runs it on lakebase.direct', async () => {
    const lakebase = make();
    for (const text of [
      'listen orders',
      'select pg_advisory_lock(7)',
      'set search_path to pl',
      'create temp table t (v int)',
      'prepare q as select 1',
    ]) {
      const failure = await lakebase.query(text).catch((error: unknown) => error);
      expect(failure, text).toBeInstanceOf(PoolerSessionError);
    }
    const client = await lakebase.direct.connect();
    try {
      await client.query('set search_path to pl');
      await client.query('select pg_advisory_lock(7)');
      expect((await client.query('select current_setting($1) as p', ['search_path'])).rows).toEqual(
        [{ p: 'pl' }],
      );
      await client.query('select pg_advisory_unlock(7)');
    } finally {
      client.release(true);
    }
  });

  it("runs pg's named statements unnamed: nothing stays prepared on the shared server", async () => {
    const lakebase = make();
    for (const v of [1, 2]) {
      const { rows } = await lakebase.query({
        name: 'by_value',
        text: 'select $1::int as v',
        values: [v],
      });
      expect(rows).toEqual([{ v }]);
    }
    // poolSize 1: the server connection the statements ran on is the one asked here
    const { rows } = await lakebase.query(
      "select count(*)::int as n from pg_prepared_statements where name = 'by_value'",
    );
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('a named statement of a class whose text is a getter runs unnamed, the object left as it was', async () => {
    const lakebase = make();
    const template = SQL`select ${7}::int as v`.setName('template_v');
    const before = ownKeys(template);
    for (let i = 0; i < 2; i++) {
      expect((await lakebase.query(template)).rows).toEqual([{ v: 7 }]);
      const client = await lakebase.pool.connect();
      try {
        expect((await client.query(template))?.rows).toEqual([{ v: 7 }]);
      } finally {
        client.release();
      }
    }
    expect(ownKeys(template)).toEqual(before);
    const { rows } = await lakebase.query(
      "select count(*)::int as n from pg_prepared_statements where name = 'template_v'",
    );
    expect(rows).toEqual([{ n: 0 }]);
  });

  describe("userPools.mode 'set-role'", () => {
    it('runs each user as themselves through the pooler: RLS applies', async () => {
      const lakebase = make({ userPools: { mode: 'set-role' } });
      const rows = await Promise.all(
        [ALICE, BOB, ALICE, BOB].map(async (email) => {
          const scope = lakebase.asUser(await lb.userHeaders(email));
          return (
            await scope.query(
              'select body, current_user as who, session_user as login from pl.notes',
            )
          ).rows;
        }),
      );
      expect(rows).toEqual([
        [{ body: 'alice 1', who: ALICE, login: sp }],
        [{ body: 'bob 1', who: BOB, login: sp }],
        [{ body: 'alice 1', who: ALICE, login: sp }],
        [{ body: 'bob 1', who: BOB, login: sp }],
      ]);
    });

    it("clears what another client of the pooler left on the server before a user's statement", async () => {
      const lakebase = make({ userPools: { mode: 'set-role' } });
      const bob = lakebase.asUser(await lb.userHeaders(BOB));
      await bob.query('select 1'); // verified
      // another client of the same pool leaves a role, a setting and a temp table on the server
      const raw = await rawPoolerClient();
      try {
        await raw.query(`set role "${ALICE}"`);
        await raw.query("select set_config('app.leak', 'alice', false)");
        await raw.query('create temp table leftover (v int)');
      } finally {
        await raw.end();
      }
      const { rows } = await bob.query(
        "select current_user as who, current_setting('app.leak', true) as leak, body from pl.notes",
      );
      // (RESET ALL leaves a placeholder setting empty: '' is cleared, 'alice' would be the leak)
      expect(rows).toEqual([{ who: BOB, leak: '', body: 'bob 1' }]);
      // the service principal's own next statement on that server is the SP again, no temp table
      const after = await lakebase.query(
        'select current_user as who, (select count(*)::int from pg_class where relnamespace = pg_my_temp_schema()) as temp',
      );
      expect(after.rows).toEqual([{ who: sp, temp: 0 }]);
    });

    it("a user's session (pool.connect) runs on the direct host, as the user", async () => {
      const lakebase = make({ userPools: { mode: 'set-role' } });
      const client = await lakebase.asUser(await lb.userHeaders(ALICE)).pool.connect();
      try {
        // a session SET lasts: this is no pooled connection
        await client.query("set application_name = 'alice-session'");
        const { rows } = await client.query(
          "select current_user as who, current_setting('application_name') as app",
        );
        expect(rows).toEqual([{ who: ALICE, app: 'alice-session' }]);
      } finally {
        client.release();
      }
    });
  });

  it('login mode: each user logs in to the pooler with their own token', async () => {
    const lakebase = make();
    const { rows } = await lakebase
      .asUser(await lb.userHeaders(ALICE))
      .query('select current_user as who, session_user as login, body from pl.notes');
    expect(rows).toEqual([{ who: ALICE, login: ALICE, body: 'alice 1' }]);
    expect((await lb.pooler!.pools()).some((p) => p.user === ALICE)).toBe(true);
  });

  describe('a pooler that takes no OAuth logins', () => {
    it('falls back to the direct host once, with one log line, and stats say why', async () => {
      lb.pooler!.acceptOAuth(false);
      try {
        const logger = capturingLogger();
        const lakebase = make({}, logger);
        expect((await lakebase.query('select current_user as who')).rows).toEqual([{ who: sp }]);
        await lakebase.query('select 1');
        const lines = logger.lines.filter((l) => /rejected an OAuth login/.test(l));
        expect(lines).toHaveLength(1);
        expect(lakebase.stats().pooler?.sp).toMatchObject({
          pooled: false,
          port: Number(lb.env.PGPORT),
        });
        expect(lakebase.stats().pooler?.sp.fellBack).toMatch(/rejected an OAuth login/);
        // and with fallback off, the refusal is the error
        const strict = make({ pooler: { fallback: false } });
        await expect(strict.query('select 1')).rejects.toMatchObject({ code: '28P01' });
      } finally {
        lb.pooler!.acceptOAuth(true);
      }
    });

    it("runs on a password role: the SP's statements as that role, users' under SET ROLE", async () => {
      const password = await lb.createPasswordRole('app_pooler');
      await lb.grantSetRole(ALICE, true, 'app_pooler');
      await lb.sql('grant usage on schema pl to app_pooler');
      lb.pooler!.acceptOAuth(false);
      try {
        const logger = capturingLogger();
        const lakebase = make(
          { pooler: { user: 'app_pooler', password }, userPools: { mode: 'set-role' } },
          logger,
        );
        expect((await lakebase.query('select current_user as who')).rows).toEqual([
          { who: 'app_pooler' },
        ]);
        const alice = lakebase.asUser(await lb.userHeaders(ALICE));
        expect((await alice.query('select current_user as who, body from pl.notes')).rows).toEqual([
          { who: ALICE, body: 'alice 1' },
        ]);
        expect(lakebase.stats().pooler?.sp).toMatchObject({ pooled: true });
        expect(logger.lines.join('\n')).not.toContain(password);
      } finally {
        lb.pooler!.acceptOAuth(true);
      }
    });

    it("login mode: the users' route leaves the pooler with the service principal's", async () => {
      lb.pooler!.acceptOAuth(false);
      try {
        const lakebase = make();
        await lakebase.query('select 1'); // the SP falls back
        const alice = lakebase.asUser(await lb.userHeaders(ALICE));
        expect((await alice.query('select current_user as who')).rows).toEqual([{ who: ALICE }]);
        expect(lakebase.stats().pooler?.users).toMatchObject({ pooled: false });
        expect(lakebase.stats().pooler?.users.fellBack).toMatch(/as the service principal's/);
      } finally {
        lb.pooler!.acceptOAuth(true);
      }
    });
  });

  it('login mode: one user whose role cannot log in never moves the other users off the pooler', async () => {
    const lakebase = make();
    const blocked = ['nologin-1@example.com', 'nologin-2@example.com'];
    for (const email of blocked) {
      await lb.addUser(email);
      await lb.sql(`alter role "${email}" nologin`);
    }
    for (const email of [...blocked, blocked[0]!]) {
      const scope = lakebase.asUser(await lb.userHeaders(email));
      await expect(scope.query('select 1')).rejects.toMatchObject({ status: 401 });
    }
    expect(lakebase.stats().pooler?.users).toMatchObject({ pooled: true, fellBack: undefined });
    const alice = lakebase.asUser(await lb.userHeaders(ALICE));
    expect((await alice.query('select current_user as who')).rows).toEqual([{ who: ALICE }]);
    expect((await lb.pooler!.pools()).some((p) => p.user === ALICE)).toBe(true);
  });
});
