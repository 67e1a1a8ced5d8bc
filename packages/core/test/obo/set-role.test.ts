/**
 * `userPools.mode: 'set-role'` and `'auto'`: a verified user's work runs on the service
 * principal's pool under the user's role (RLS applies, no per-user login), and nothing a user
 * does to the session — RESET ROLE, SET ROLE, SET SESSION AUTHORIZATION, settings, a
 * transaction left open or aborted — reaches the next checkout.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, ConfigurationError, ValidationError } from '../../src/base/errors.js';
import type { Lakebase } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, BOB, capturingLogger } from '../support/obo-helpers.js';
import { ownKeys, SQL } from '../support/query-configs.js';

const CAROL = 'carol@example.com';
let lb: LocalLakebase;
let sp: string;
const logger = capturingLogger();
const opened: Lakebase[] = [];

beforeAll(async () => {
  // alice and bob: the SP holds SET on their roles; carol: it does not
  lb = await startLocalLakebase({ users: [ALICE, BOB], grantSetRole: true });
  await lb.addUser(CAROL);
  await lb.grantSetRole(CAROL, false);
  sp = lb.servicePrincipal.clientId;
  const setup = make('login');
  await setup.query(`create schema sr;
    create table sr.notes (id serial primary key, owner text not null default current_user, body text not null);
    alter table sr.notes enable row level security;
    create policy notes_owner on sr.notes using (owner = current_user);
    grant usage on schema sr to public;
    grant select, insert on sr.notes to public;
    grant usage on sequence sr.notes_id_seq to public`);
  await setup.query(
    `insert into sr.notes (owner, body) values ($1, 'alice 1'), ($2, 'bob 1'), ($3, 'carol 1')`,
    [ALICE, BOB, CAROL],
  );
  await setup.close(); // its connections would count in the peaks below
}, 60_000);
afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await lb?.stop();
});

function make(mode: 'login' | 'set-role' | 'auto', max = 2): Lakebase {
  const lakebase = createLakebase({ env: lb.env, logger, max, userPools: { mode } });
  opened.push(lakebase);
  return lakebase;
}

const logins = (role: string) => lb.stats().connections[role]?.total ?? 0;
const SESSION_SQL = `select current_user as who, session_user as login,
  current_setting('search_path') as path, current_setting('statement_timeout') as timeout`;
const CLEAN = { path: '"$user", public', timeout: '0' };

/** SAVEPOINT fails with 25P01 outside a transaction block: proof that none was left open. */
async function noTransactionLeftOpen(run: (sql: string) => Promise<unknown>): Promise<string> {
  return run('savepoint probe').then(
    () => 'a transaction was left open',
    (e: { code?: string }) => e.code ?? 'no code',
  );
}

describe("userPools.mode 'set-role'", () => {
  it('runs as the user on the SP pool: RLS applies, no user login, at most the SP pool max', async () => {
    const lakebase = make('set-role', 2);
    lb.resetStats();
    const results = await Promise.all(
      [ALICE, BOB, ALICE, BOB, ALICE, BOB].map(async (email) => {
        const scope = lakebase.asUser(await lb.userHeaders(email));
        return {
          email,
          rows: (
            await scope.query(
              'select body, current_user as who, session_user as login from sr.notes',
            )
          ).rows,
        };
      }),
    );
    for (const { email, rows } of results) {
      expect(rows.map((r) => r.body)).toEqual([email === ALICE ? 'alice 1' : 'bob 1']);
      expect(rows.every((r) => r.who === email && r.login === sp)).toBe(true);
    }
    expect(logins(ALICE) + logins(BOB)).toBe(0);
    expect(lb.stats().connections[sp]?.peak ?? 0).toBeLessThanOrEqual(2);
    expect(lakebase.stats().users.pools).toBe(0);
    // the service principal's own queries run as the SP, on the same (reset) connections
    for (let i = 0; i < 4; i++) {
      expect((await lakebase.query('select current_user as who')).rows[0].who).toBe(sp);
    }
  });

  it('scope.pool: a transaction as the user, reset at release; ORMs use this path', async () => {
    const lakebase = make('set-role', 1);
    const scope = lakebase.asUser(await lb.userHeaders(ALICE));
    const client = await scope.pool.connect();
    try {
      await client.query('begin');
      await client.query(`insert into sr.notes (body) values ('alice tx')`);
      const { rows } = await client.query('select owner from sr.notes where body = $1', [
        'alice tx',
      ]);
      await client.query('commit');
      expect(rows).toEqual([{ owner: ALICE }]);
    } finally {
      client.release();
    }
    const next = await lakebase.query(SESSION_SQL); // the one connection, now the SP's again
    expect(next.rows[0]).toMatchObject({ who: sp, login: sp, ...CLEAN });
  });

  it('takes query configs as pg does: a getter text, a named config reused, the object left as it was', async () => {
    for (const mode of ['login', 'set-role'] as const) {
      const lakebase = make(mode, 1);
      const scope = lakebase.asUser(await lb.userHeaders(ALICE));
      const template = SQL`select ${2}::int + ${3}::int as v, current_user as who`;
      const named = { name: `sum-${mode}`, text: 'select $1::int * 2 as v', values: [21] };
      const before = [ownKeys(template), ownKeys(named)];
      for (let i = 0; i < 2; i++) {
        expect((await scope.query(template)).rows).toEqual([{ v: 5, who: ALICE }]);
        expect((await lakebase.query(template)).rows).toEqual([{ v: 5, who: sp }]);
        expect((await scope.query(named)).rows).toEqual([{ v: 42 }]);
        const client = await scope.pool.connect();
        try {
          // the promise form, twice on one connection: a config pg wrote a callback onto would
          // answer the second call through the first call's callback (and return undefined)
          expect((await client.query(named))?.rows).toEqual([{ v: 42 }]);
          expect((await client.query(named))?.rows).toEqual([{ v: 42 }]);
          expect((await client.query(template))?.rows).toEqual([{ v: 5, who: ALICE }]);
        } finally {
          client.release();
        }
      }
      expect([ownKeys(template), ownKeys(named)]).toEqual(before);
    }
  });

  it('a named statement that failed to parse leaves nothing behind: the name works once it can', async () => {
    const lakebase = make('set-role', 1);
    const scope = lakebase.asUser(await lb.userHeaders(ALICE));
    const named = { name: 'later_rows', text: 'select count(*)::int as n from sr.later' };
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    expect(await codeOf(scope.query(named))).toBe('42P01'); // no such table yet
    expect(await codeOf(scope.query(named))).toBe('42P01');
    await lakebase.query('create table sr.later (id int); grant select on sr.later to public');
    try {
      // the one connection: the name was never prepared on it, for alice nor for the SP
      expect((await scope.query(named)).rows).toEqual([{ n: 0 }]);
      expect((await lakebase.query(named)).rows).toEqual([{ n: 0 }]);
      expect((await scope.query(named)).rows).toEqual([{ n: 0 }]);
    } finally {
      await lakebase.query('drop table sr.later');
    }
  });

  /** [name, what alice does on her connection, through `query` or through a pool client] */
  const LEAKS: Array<[string, 'client' | 'query', string[]]> = [
    ['RESET ROLE', 'client', ['RESET ROLE']],
    ['SET ROLE to another role', 'client', ['SET ROLE NONE']],
    [
      'SET SESSION AUTHORIZATION (refused by Postgres)',
      'client',
      ['SET SESSION AUTHORIZATION DEFAULT'],
    ],
    ['set_config(role) for the session', 'client', [`select set_config('role', 'none', false)`]],
    ['a changed search_path', 'client', ['set search_path = pg_catalog']],
    ['a changed statement_timeout', 'client', ['set statement_timeout = 1']],
    ['a transaction left open', 'client', ['begin', 'select 1']],
    ['a transaction left aborted', 'client', ['begin', 'select 1/0']],
    ['a transaction left open, then RESET ROLE', 'client', ['begin', 'reset role']],
    [
      'session settings through query()',
      'query',
      [`select set_config('search_path', 'pg_catalog', false)`],
    ],
    ['role through query()', 'query', [`select set_config('role', 'none', false)`]],
    ['a failing statement through query()', 'query', ['select 1/0']],
  ];

  it(`leaves the next user's and the SP's session right after each of ${LEAKS.length} leak attempts`, async () => {
    const lakebase = make('set-role', 1); // one connection: the next checkout gets the same one
    const alice = lakebase.asUser(await lb.userHeaders(ALICE));
    const bob = lakebase.asUser(await lb.userHeaders(BOB));
    for (const [name, path, statements] of LEAKS) {
      if (path === 'client') {
        const client = await alice.pool.connect();
        for (const sql of statements) await client.query(sql).catch(() => undefined);
        client.release();
      } else {
        for (const sql of statements) await alice.query(sql).catch(() => undefined);
      }
      const asBob = await bob.query(SESSION_SQL);
      expect(asBob.rows[0], `${name}: bob`).toMatchObject({ who: BOB, login: sp, ...CLEAN });
      const bobsRows = await bob.query('select body from sr.notes');
      expect(
        bobsRows.rows.map((r) => r.body),
        `${name}: bob's rows`,
      ).toEqual(['bob 1']);
      const bobs = await bob.pool.connect();
      expect(await noTransactionLeftOpen((sql) => bobs.query(sql)), `${name}: bob's tx`).toBe(
        '25P01',
      );
      bobs.release();
      const asSp = await lakebase.query(SESSION_SQL);
      expect(asSp.rows[0], `${name}: SP`).toMatchObject({ who: sp, login: sp, ...CLEAN });
      expect(await noTransactionLeftOpen((sql) => lakebase.query(sql)), `${name}: SP tx`).toBe(
        '25P01',
      );
      const asAlice = await alice.query('select current_user as who');
      expect(asAlice.rows[0]?.who, `${name}: alice again`).toBe(ALICE);
    }
  });

  it('query() refuses session and transaction statements, and runs one statement only', async () => {
    const lakebase = make('set-role');
    const alice = lakebase.asUser(await lb.userHeaders(ALICE));
    for (const sql of ['RESET ROLE', 'SET ROLE NONE', 'BEGIN', 'COMMIT', 'set search_path = x']) {
      await expect(alice.query(sql), sql).rejects.toBeInstanceOf(ValidationError);
    }
    const two = await alice.query('select 1; reset role; select * from sr.notes').then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    expect(two?.code).toBe('42601'); // the extended protocol takes one statement
  });

  it('the token is verified as strictly as in login mode; missing roles and grants are typed', async () => {
    const lakebase = make('set-role');
    const forged = { 'x-forwarded-access-token': lb.userToken(ALICE), 'x-forwarded-email': BOB };
    await expect(lakebase.asUser(forged).query('select 1')).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    const ghost = 'ghost@example.com';
    const error = await lakebase
      .asUser({ 'x-forwarded-access-token': lb.userToken(ghost), 'x-forwarded-email': ghost })
      .query('select 1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 403, identity: ghost });
    const carol = await lakebase
      .asUser(await lb.userHeaders(CAROL))
      .query('select 1')
      .catch((e: unknown) => e);
    expect(carol).toBeInstanceOf(ConfigurationError);
    expect((carol as Error).message).toContain('WITH INHERIT FALSE, SET TRUE');
    // the connections those failures touched were destroyed or reset: the SP is fine
    expect((await lakebase.query('select current_user as who')).rows[0].who).toBe(sp);
  });
});

describe("userPools.mode 'auto'", () => {
  it('set-role where the SP may SET ROLE, login for the others; without grants it is login mode', async () => {
    const lakebase = make('auto');
    lb.resetStats();
    const run = async (email: string) =>
      (
        await lakebase
          .asUser(await lb.userHeaders(email))
          .query(`select body, current_user as who from sr.notes where body like '% 1'`)
      ).rows as Array<{ body: string; who: string }>;
    expect(await run(ALICE)).toEqual([{ body: 'alice 1', who: ALICE }]);
    expect(await run(CAROL)).toEqual([{ body: 'carol 1', who: CAROL }]);
    expect(logins(ALICE)).toBe(0); // SET ROLE on the SP's connection
    expect(logins(CAROL)).toBe(1); // no grant: her own login, as in login mode
    expect(lakebase.stats().users.pools).toBe(1);
    // the doctor says who may not be switched to, and what to grant
    const report = await lakebase.doctor({ mint: false });
    const check = report.checks.find((c) => c.id === 'set-role');
    expect(check).toMatchObject({ status: 'warn', subjects: [CAROL] });
    expect(check?.fix).toContain(`GRANT "${CAROL}" TO "${sp}" WITH INHERIT FALSE, SET TRUE`);
  });
});

/** `pg.PoolClient` use kept out of the table above: a client released with an error is destroyed. */
it('a pool client released with an error is destroyed, not reset', async () => {
  const lakebase = make('set-role', 1);
  const alice = lakebase.asUser(await lb.userHeaders(ALICE));
  const client: pg.PoolClient = await alice.pool.connect();
  await client.query('set search_path = pg_catalog');
  const before = lb.stats().connections[sp]?.total ?? 0;
  client.release(true);
  expect((await lakebase.query(SESSION_SQL)).rows[0]).toMatchObject({ who: sp, ...CLEAN });
  expect(lb.stats().connections[sp]?.total ?? 0).toBe(before + 1); // a new connection
  expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
});
