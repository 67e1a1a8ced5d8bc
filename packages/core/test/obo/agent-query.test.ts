/**
 * `asUser(req).readOnlyQuery` / `singleStatementQuery`: an agent's SQL runs as the user, with
 * Postgres enforcing read-only (one statement over the extended protocol, READ ONLY transaction
 * rolled back) and the session-changing statements and lasting side effects refused up front.
 * Every escape attempt in the table leaves the data, and the next query's `current_user`, as
 * they were.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusal } from '../../src/agent/statement-runner.js';
import { ValidationError } from '../../src/base/errors.js';
import type { Lakebase } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, BOB, capturingLogger } from '../support/obo-helpers.js';

/** Polls an async condition (a signal from the database) until it holds. */
async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let lb: LocalLakebase;
let lakebase: Lakebase;
const logger = capturingLogger();

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  lakebase = createLakebase({ env: lb.env, logger });
  await lakebase.query(`create schema agent;
    create table agent.notes (id serial primary key, owner text not null default current_user, body text not null);
    alter table agent.notes enable row level security;
    create policy notes_owner on agent.notes using (owner = current_user);
    grant usage on schema agent to public;
    grant select, insert, update, delete on agent.notes to public;
    grant usage on sequence agent.notes_id_seq to public`);
  await lakebase.query(
    `insert into agent.notes (owner, body) values ($1, 'alice 1'), ($1, 'alice 2'), ($2, 'bob 1')`,
    [ALICE, BOB],
  );
}, 60_000);
afterAll(async () => {
  await lakebase?.close();
  await lb?.stop();
});

const snapshot = async () =>
  (await lakebase.query('select id, owner, body from agent.notes order by id')).rows;
const alice = async () => lakebase.asUser(await lb.userHeaders(ALICE));

/** [name, sql, how it is stopped: 'refused' before sending, or the SQLSTATE Postgres answers] */
const ESCAPES: Array<[string, string, 'refused' | string]> = [
  ['insert', `insert into agent.notes (body) values ('x')`, 'refused'],
  ['update', `update agent.notes set body = 'x'`, 'refused'],
  ['delete', 'delete from agent.notes', 'refused'],
  ['delete after a comment', '/* hi */ -- there\n delete from agent.notes', 'refused'],
  ['two statements', 'select 1; delete from agent.notes', '42601'],
  ['commit smuggled in', 'select 1; commit; delete from agent.notes', '42601'],
  [
    'data-modifying CTE',
    'with d as (delete from agent.notes returning *) select * from d',
    '25006',
  ],
  ['explain analyze of a delete', 'explain analyze delete from agent.notes', '25006'],
  ['nextval', `select nextval('agent.notes_id_seq')`, '25006'],
  ['select ... for update', 'select * from agent.notes for update', '25006'],
  ['set_config(role)', `select set_config('role', 'postgres', false)`, 'refused'],
  ['quoted set_config', `select "set_config"('role', 'x', false)`, 'refused'],
  ['SET ROLE', 'SET ROLE postgres', 'refused'],
  ['RESET ROLE', 'RESET ROLE', 'refused'],
  ['SET SESSION AUTHORIZATION', 'SET SESSION AUTHORIZATION DEFAULT', 'refused'],
  ['COMMIT', 'COMMIT', 'refused'],
  ['BEGIN', 'BEGIN', 'refused'],
  ['ROLLBACK', 'ROLLBACK', 'refused'],
  ['pg_terminate_backend', 'select pg_terminate_backend(pg_backend_pid())', 'refused'],
  ['session advisory lock', 'select pg_advisory_lock(42)', 'refused'],
  ['DO block', `DO $$ begin delete from agent.notes; end $$`, 'refused'],
  ['dblink', `select * from dblink('dbname=x', 'delete from agent.notes') as t(x int)`, 'refused'],
  ['lo_import', `select lo_import('/etc/passwd')`, 'refused'],
  ['create table', 'create table agent.evil (x int)', 'refused'],
  ['drop table', 'drop table agent.notes', 'refused'],
  ['grant', 'grant all on agent.notes to public', 'refused'],
  ['copy', 'copy agent.notes to stdout', 'refused'],
  ['call', 'call anything()', 'refused'],
  [
    'set_config hidden in query_to_xml text',
    `select query_to_xml('select set' || '_config(''role'', ''none'', true)', true, true, '') as a`,
    'refused',
  ],
  [
    'schema-qualified query_to_xml',
    `select pg_catalog.query_to_xml('select 1', true, true, '')`,
    'refused',
  ],
  [
    'ts_stat runs its text',
    `select * from ts_stat('select to_tsvector(body) from agent.notes')`,
    'refused',
  ],
  // spellings around a text match: each is the call it is, by token
  ['advisory lock, comment before (', 'select pg_advisory_lock/**/(42)', 'refused'],
  ['advisory lock, newline comment', 'select pg_advisory_lock --\n(42)', 'refused'],
  ['upper case', 'select PG_ADVISORY_LOCK(42)', 'refused'],
  ['quoted name', `select "pg_advisory_lock"(42)`, 'refused'],
  ['Unicode-escaped name', `select u&"pg\\005fnotify"('c', 'x')`, 'refused'],
  ['UESCAPE', `select U&"pg!005fnotify" UESCAPE '!' ('c', 'x')`, 'refused'],
  ['schema-qualified, spaced', `select pg_catalog . set_config ('role', 'none', false)`, 'refused'],
];

describe('readOnlyQuery', () => {
  it('runs as the user: RLS applies, rows are JSON-safe', async () => {
    const scope = await alice();
    const result = await scope.readOnlyQuery(
      'select body, current_user as who from agent.notes where body like $1 order by body',
      ['alice%'],
    );
    expect(result.rows).toEqual([
      { body: 'alice 1', who: ALICE },
      { body: 'alice 2', who: ALICE },
    ]);
    expect(result).toMatchObject({ command: 'SELECT', rowCount: 2, truncated: false });
    expect(result.fields.map((f) => f.name)).toEqual(['body', 'who']);

    const types = await scope.readOnlyQuery(
      `select 9007199254740993::int8 as big, timestamptz '2026-01-02 03:04:05Z' as at,
        '\\x0102'::bytea as bytes, 'NaN'::float8 as nan, '{"a": [1, 2]}'::jsonb as doc`,
    );
    expect(types.rows[0]).toEqual({
      big: '9007199254740993',
      at: '2026-01-02T03:04:05.000Z',
      bytes: '\\x0102',
      nan: 'NaN',
      doc: { a: [1, 2] },
    });
    expect(() => JSON.stringify(types)).not.toThrow();
  });

  it('caps the rows and says so; times out with statement_timeout', async () => {
    const scope = await alice();
    const capped = await scope.readOnlyQuery('select generate_series(1, 50) as n', [], {
      maxRows: 10,
    });
    expect(capped.rows).toHaveLength(10);
    expect(capped).toMatchObject({ truncated: true, rowCount: null });
    const slow = await scope.readOnlyQuery('select pg_sleep(5)', [], { timeoutMs: 200 }).then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    expect(slow?.code).toBe('57014'); // query_canceled by statement_timeout
    expect((await scope.readOnlyQuery('select current_user as who')).rows[0]?.who).toBe(ALICE);
  });

  it('caps the answer in bytes: 1,001 rows of 1 MB never reach the process', async () => {
    const scope = await alice();
    const before = process.memoryUsage().rss;
    const huge = await scope.readOnlyQuery(
      "select repeat('x', 1048576) as blob from generate_series(1, 1001)",
    );
    // the default cap (4 MiB): three rows fit, the fourth does not
    expect(huge).toMatchObject({ truncated: true, truncatedBy: 'maxBytes', rowCount: null });
    expect(huge.rows).toHaveLength(3);
    expect(JSON.stringify(huge.rows).length).toBeLessThanOrEqual(4 * 1024 * 1024);
    // at most the first small batch was ever held: far below the ~1 GB of the whole answer
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    const small = await scope.readOnlyQuery(
      'select repeat($1, 100) as s from generate_series(1, 20)',
      ['y'],
      {
        maxBytes: 1000,
      },
    );
    expect(small).toMatchObject({ truncated: true, truncatedBy: 'maxBytes' });
    expect(JSON.stringify(small.rows).length).toBeLessThanOrEqual(1000);
    expect(small.rows.length).toBeGreaterThan(5);
    const all = await scope.readOnlyQuery('select n from generate_series(1, 700) as n');
    expect(all).toMatchObject({ truncated: false, rowCount: 700 });
    expect(all.rows.at(-1)).toEqual({ n: 700 });
  });

  it(`stops every one of ${ESCAPES.length} write or escape attempts; data and identity stay as they were`, async () => {
    const before = await snapshot();
    const scope = await alice();
    const outcomes: string[] = [];
    for (const [name, sql, expected] of ESCAPES) {
      const error = await scope.readOnlyQuery(sql).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      const outcome =
        error instanceof ValidationError ? 'refused' : (error?.code ?? error?.message ?? 'RAN');
      outcomes.push(`${name}: ${outcome}`);
      expect(outcome, name).toBe(expected);
      // the connection it ran on is clean: the next statement is the same user, not in a tx
      const next = await scope.readOnlyQuery(
        "select current_user as who, current_setting('transaction_read_only') as ro",
      );
      expect(next.rows[0], name).toEqual({ who: ALICE, ro: 'on' });
    }
    expect(outcomes).toHaveLength(ESCAPES.length);
    expect(await snapshot()).toEqual(before);
    // nothing was left behind on the user's connections
    expect((await scope.query('select current_user as who')).rows[0]?.who).toBe(ALICE);
    const locks = await lakebase.query(
      `select count(*)::int as n from pg_locks where locktype = 'advisory'`,
    );
    expect(locks.rows[0]?.n).toBe(0);
  });

  it('refuses malformed input with a typed 400 naming the problem', async () => {
    const scope = await alice();
    for (const [text, values] of [
      ['', undefined],
      ['   ', undefined],
      [42, undefined],
      ['select 1', 'not an array'],
    ] as const) {
      const error = await scope
        .readOnlyQuery(text as string, values as unknown as unknown[])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).status).toBe(400);
      expect((error as Error).message).toMatch(/refused: "(text|values)"/);
    }
    await expect(scope.readOnlyQuery('select 1', [], { maxRows: 0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('an abort ends the statement and its connection; the scope keeps working', async () => {
    const scope = await alice();
    const abort = new AbortController();
    const started = Date.now();
    const pending = scope
      .readOnlyQuery('select pg_sleep(30) as slept', [], {
        signal: abort.signal,
        timeoutMs: 60_000,
      })
      .catch((e: unknown) => e);
    // abort once the statement is running (alice can see her own sessions)
    await until(async () => {
      const { rows } = await scope.query(
        "select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(30)%' and pid <> pg_backend_pid()",
      );
      return rows[0]?.n === 1;
    });
    abort.abort();
    const error = (await pending) as Error;
    expect(error.name).toBe('ClosedError');
    expect(Date.now() - started).toBeLessThan(20_000);
    // cancelled on the server too: gone long before its 30 s (or a statement_timeout) end it
    // (as the superuser: the SP may not see the text of alice's statements)
    await until(async () => {
      const rows = await lb.sql<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(30)%'",
      );
      return rows[0]?.n === 0;
    }, 5000);
    expect((await scope.readOnlyQuery('select 1 as one')).rows[0]?.one).toBe(1);
  });

  it('closes the connection each statement ran on: nothing it left in the session is reused', async () => {
    const scope = await alice();
    const read = await scope.readOnlyQuery('select pg_backend_pid() as pid');
    const write = await scope.singleStatementQuery(
      `update agent.notes set body = body where false returning 1`,
    );
    expect(write.command).toBe('UPDATE');
    const written = await scope.singleStatementQuery('select pg_backend_pid() as pid');
    for (const pid of [read.rows[0]?.pid, written.rows[0]?.pid]) {
      expect(typeof pid).toBe('number');
      await until(async () => {
        const { rows } = await lakebase.query(
          'select count(*)::int as n from pg_stat_activity where pid = $1',
          [pid],
        );
        return rows[0]?.n === 0;
      });
    }
  });
});

describe("in userPools.mode 'set-role'", () => {
  it("runs an agent's statement on a connection logged in as the user, so it cannot reset to the SP", async () => {
    await lb.grantSetRole(ALICE);
    const shared = createLakebase({ env: lb.env, logger, userPools: { mode: 'set-role' } });
    try {
      const scope = shared.asUser(await lb.userHeaders(ALICE));
      const sp = lb.servicePrincipal.clientId;
      // the app's own queries run on the SP's login under SET ROLE
      const own = await scope.query('select session_user as login, current_user as who');
      expect(own.rows[0]).toEqual({ login: sp, who: ALICE });
      // an agent's statement: the user's own login
      const agent = await scope.readOnlyQuery('select session_user as login, current_user as who');
      expect(agent.rows[0]).toEqual({ login: ALICE, who: ALICE });
      // a role reset spelled so that a text match would miss it (a Unicode-escaped name) is a
      // call all the same: refused by token before anything is sent
      await expect(
        scope.readOnlyQuery(
          `select U&"\\0071uery_to_xml"('select set' || '_config(''role'', ''none'', true)', true, true, '')::text as a`,
        ),
      ).rejects.toBeInstanceOf(ValidationError);
      // and even a role reset that ran would reset to the user's own login, not to the SP
      const reset = await scope
        .readOnlyQuery(
          "select set_config('role', 'none', true) is null as _, session_user as login",
        )
        .catch((error: Error) => error);
      expect(reset).toBeInstanceOf(ValidationError); // set_config itself is refused too
      const login = await scope.readOnlyQuery('select session_user as login');
      expect(login.rows[0]).toEqual({ login: ALICE });
    } finally {
      await shared.close();
      await lb.grantSetRole(ALICE, false);
    }
  });
});

describe('singleStatementQuery (writes, one statement, as the user)', () => {
  it('writes as the user and commits; still one statement; session statements refused', async () => {
    const scope = await alice();
    const inserted = await scope.singleStatementQuery(
      'insert into agent.notes (body) values ($1) returning owner, body',
      ['alice 3'],
    );
    expect(inserted.rows).toEqual([{ owner: ALICE, body: 'alice 3' }]);
    expect(inserted.command).toBe('INSERT');
    const visible = await lakebase.query(`select owner from agent.notes where body = 'alice 3'`);
    expect(visible.rows).toEqual([{ owner: ALICE }]);
    const two = await scope.singleStatementQuery(`select 1; delete from agent.notes`).then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    expect(two?.code).toBe('42601');
    for (const sql of [
      'RESET ROLE',
      'SET ROLE postgres',
      'COMMIT',
      `select set_config('role', 'x', false)`,
    ]) {
      await expect(scope.singleStatementQuery(sql)).rejects.toBeInstanceOf(ValidationError);
    }
    // RLS still applies to writes: bob's row is out of reach
    const stolen = await scope.singleStatementQuery(`delete from agent.notes where body = 'bob 1'`);
    expect(stolen.rowCount).toBe(0);
    expect((await snapshot()).some((r) => r.body === 'bob 1')).toBe(true);
  });
});

describe('refusal (pure)', () => {
  it('lets reads through and names what it refuses', () => {
    expect(refusal('with x as (select 1) select * from x', undefined, true)).toBeUndefined();
    expect(refusal('  -- note\n/* a /* nested */ comment */ select 1', [], true)).toBeUndefined();
    expect(refusal('select my_set_config_helper(1)', [], true)).toBeUndefined();
    expect(refusal('insert into t values (1)', [], false)).toBeUndefined();
    expect(refusal('insert into t values (1)', [], true)?.message).toContain('not INSERT');
    expect(refusal('select pg_terminate_backend(1)', [], false)?.message).toContain(
      'pg_terminate_backend()',
    );
  });

  it('never logs a token', () => {
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });
});
