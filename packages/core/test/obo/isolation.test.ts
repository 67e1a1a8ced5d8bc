/**
 * The guarantee, attacked: whatever is reached through `asUser(req)` runs as that verified user,
 * never as the service principal or another user — in `login`, `set-role` and `auto` mode
 * alike. The SP pool has ONE connection in set-role and auto mode, so every hand-off between
 * users (and the SP) happens on the same Postgres session: whatever a user leaves there is what
 * the next one would find.
 *
 * With `LAKEBASE_LOCAL_POOLER=1` the same attacks run on the pooled host (PgBouncer, one server
 * connection per pool): the kit refuses a statement that would leave session state there, so
 * the state is left instead by another client of the pooler, as the same role — what any client
 * of a shared pooler could do — and the next user must still find nothing.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  PoolerSessionError,
  ReleasedClientError,
  ValidationError,
} from '../../src/base/errors.js';
import type { Lakebase, UserScope } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, BOB, capturingLogger } from '../support/obo-helpers.js';

const MODES = ['login', 'set-role', 'auto'] as const;
type Mode = (typeof MODES)[number];

let lb: LocalLakebase;
let sp: string;
const logger = capturingLogger();
const opened: Lakebase[] = [];

/** The pooled world (`LAKEBASE_LOCAL_POOLER=1`): apps on the pooler, one server connection per pool. */
const POOLED = process.env.LAKEBASE_LOCAL_POOLER === '1';

beforeAll(async () => {
  lb = await startLocalLakebase({
    users: [ALICE, BOB],
    grantSetRole: true,
    ...(POOLED ? { pooler: { appsUsePooler: true, poolSize: 1 } } : {}),
  });
  sp = lb.servicePrincipal.clientId;
  await lb.sql(`grant create on schema public to "${sp}"`);
  const setup = make('login');
  // public.items: RLS by owner, readable by every role (the seed's recipe); iso.secret: the SP's alone
  await setup.query(`
    create table public.items (id serial primary key, owner text not null default current_user, body text not null);
    alter table public.items enable row level security;
    create policy items_owner on public.items using (owner = current_user);
    grant select, insert on public.items to public;
    grant usage on sequence public.items_id_seq to public;
    create schema iso;
    create table iso.secret (body text);
    insert into iso.secret values ('the SP''s secret')`);
  await setup.query(
    `insert into public.items (owner, body) values ($1, 'alice 1'), ($2, 'bob 1')`,
    [ALICE, BOB],
  );
  await setup.close();
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await lb?.stop();
});

/** A Lakebase whose SP pool has one connection (and user pools one each). */
function make(mode: Mode): Lakebase {
  const lakebase = createLakebase({
    env: lb.env,
    logger,
    max: 1,
    userPools: { mode, max: 1 },
  });
  opened.push(lakebase);
  return lakebase;
}

async function users(
  mode: Mode,
): Promise<{ lakebase: Lakebase; alice: UserScope; bob: UserScope }> {
  const lakebase = make(mode);
  return {
    lakebase,
    alice: lakebase.asUser(await lb.userHeaders(ALICE)),
    bob: lakebase.asUser(await lb.userHeaders(BOB)),
  };
}

/**
 * Leaves session state the way `run` does; where the kit refuses it on the pooler, another client
 * of the pooler leaves it on the same pool's server connection instead: as `role` itself in login
 * mode (its own PgBouncer pool), as the SP under `SET ROLE role` otherwise (the SP's pool).
 */
async function leave(
  mode: Mode,
  role: string | undefined,
  run: () => Promise<unknown>,
  sql: string,
  values?: unknown[],
): Promise<void> {
  try {
    await run();
    return;
  } catch (error) {
    if (!(error instanceof PoolerSessionError)) throw error;
  }
  const pooler = lb.pooler!;
  const login = mode === 'login' && role !== undefined ? role : sp;
  const client = new pg.Client({
    host: pooler.host,
    port: pooler.port,
    database: lb.database,
    user: login,
    password: lb.mintPgToken(login).token,
    ssl: { ca: lb.tls!.caPem, host: pooler.host },
  });
  await client.connect();
  try {
    // (it may itself find what an earlier client left on that server connection)
    await client.query('reset role; reset all');
    if (login !== role && role !== undefined) await client.query(`set role "${role}"`);
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (error: { code?: string }) => error.code ?? String(error),
  );

describe.each(MODES)("userPools.mode '%s'", (mode) => {
  it('a released client refuses every call, so a stale reference never runs as anyone', async () => {
    const { lakebase, alice, bob } = await users(mode);
    const stale = await alice.pool.connect();
    expect((await stale.query('select current_user as who')).rows[0].who).toBe(ALICE);
    // methods kept from before the release: destructured, bound, a listener method
    const { query: keptQuery } = stale;
    const boundQuery = stale.query.bind(stale);
    const keptOn = stale.on;
    stale.release();
    expect(() => keptQuery('select current_user as who')).toThrow(ReleasedClientError);
    expect(() => boundQuery('select current_user as who')).toThrow(ReleasedClientError);
    expect(() => keptOn.call(stale, 'notification', () => {})).toThrow(ReleasedClientError);
    expect(() => stale.query('select body from iso.secret')).toThrow(ReleasedClientError);
    expect(() => stale.query({ text: 'select 1' })).toThrow(ReleasedClientError);
    expect(() => stale.release()).toThrow(ReleasedClientError);
    expect(() => stale.on('notification', () => {})).toThrow(ReleasedClientError);
    expect(() => stale.connection).toThrow(ReleasedClientError);
    // meanwhile the connection serves others, each as themselves
    const other = await bob.pool.connect();
    expect(() => stale.query('select 1')).toThrow(ReleasedClientError);
    expect((await other.query('select current_user as who')).rows[0].who).toBe(BOB);
    other.release();
    expect((await lakebase.query('select current_user as who')).rows[0].who).toBe(sp);
    expect(() => stale.query('select 1')).toThrow(ReleasedClientError);
    expect(() => keptQuery('select current_user as who')).toThrow(ReleasedClientError);
    // and the callback form of pool.connect hands out a lease too
    const released = await new Promise<pg.PoolClient>((resolve, reject) =>
      alice.pool.connect((error, client, done) => {
        if (error || !client) return reject(error);
        done();
        resolve(client);
      }),
    );
    expect(() => released.query('select 1')).toThrow(ReleasedClientError);
  });

  it('a cursor WITH HOLD is gone when the next user gets the session', async () => {
    const { alice, bob } = await users(mode);
    const hold = 'declare leak cursor with hold for select body from public.items';
    await leave(mode, ALICE, () => alice.query(hold), hold);
    expect(await codeOf(bob.query('fetch all from leak'))).toBe('34000'); // no such cursor
    const client = await alice.pool.connect();
    const hold2 = 'declare leak2 cursor with hold for select body from public.items';
    await leave(mode, ALICE, () => client.query(hold2), hold2);
    client.release();
    const bobs = await bob.pool.connect();
    expect(await codeOf(bobs.query('fetch all from leak2'))).toBe('34000');
    expect((await bobs.query('select count(*)::int as n from pg_cursors')).rows[0].n).toBe(0);
    bobs.release();
  });

  it('what the service principal leaves in its session never reaches a user', async () => {
    const { lakebase, alice } = await users(mode);
    // a name per mode: on the pooler what the SP leaves stays on its pool's server connection
    const cursor = `sp_cursor_${mode.replace('-', '_')}`;
    const hold = `declare ${cursor} cursor with hold for select body from iso.secret`;
    await leave(mode, undefined, () => lakebase.query(hold), hold);
    const path = 'set search_path = iso, public';
    await leave(mode, undefined, () => lakebase.query(path), path);
    expect(await codeOf(alice.query(`fetch all from ${cursor}`))).toBe('34000');
    const client = await alice.pool.connect();
    expect(await codeOf(client.query(`fetch all from ${cursor}`))).toBe('34000');
    expect((await client.query(`select current_setting('search_path') as path`)).rows[0].path).toBe(
      '"$user", public',
    );
    client.release();
    await lakebase.direct.query('close all');
  });

  it("a temp table never shadows another user's table, nor catches their writes", async () => {
    const { lakebase, alice, bob } = await users(mode);
    const forge = `create temp table items as select 'forged by alice'::text as body, $1::text as owner`;
    await leave(mode, ALICE, () => alice.query(forge, [BOB]), forge, [BOB]);
    if (!POOLED) {
      // her own session has it (on the pooler the kit refused it; another client left it)
      expect((await alice.query('select body from items')).rows).toEqual([
        { body: 'forged by alice' },
      ]);
    }
    // bob reads his own rows from public.items, never alice's forged one
    const bobSees = (await bob.query('select body, owner from items')).rows;
    expect(bobSees).toContainEqual({ body: 'bob 1', owner: BOB });
    expect(bobSees.every((row) => row.owner === BOB)).toBe(true);
    const note = `bob note (${mode})`;
    await bob.query('insert into items (body) values ($1)', [note]);
    // alice's temp table (if she still has it, in login mode) never got bob's note
    const aliceSees = await alice.query('select body from items').then(
      (r) => r.rows.map((row) => row.body),
      () => [],
    );
    expect(aliceSees).not.toContain(note);
    const stored = await lakebase.query('select owner from public.items where body = $1', [note]);
    expect(stored.rows).toEqual([{ owner: BOB }]);
  });

  it("LISTEN, notification listeners, advisory locks and settings don't reach the next user", async () => {
    const { alice, bob } = await users(mode);
    const heard: string[] = [];
    const client = await alice.pool.connect();
    client.on('notification', (message) => heard.push(String(message.payload)));
    // a lock id per mode: on the pooler a session lock stays on its server connection for good
    const [lockA, lockB] = { login: [4242, 4343], 'set-role': [4244, 4345], auto: [4246, 4347] }[
      mode
    ];
    for (const sql of [
      'listen secrets',
      `select pg_advisory_lock(${lockA})`,
      'set search_path = pg_catalog',
      `select set_config('app.owner', 'alice', false)`,
    ]) {
      await leave(mode, ALICE, () => client.query(sql), sql);
    }
    client.release();
    const lock = `select pg_advisory_lock(${lockB})`;
    await leave(mode, ALICE, () => alice.query(lock), lock);

    const bobs = await bob.pool.connect();
    // alice's LISTEN is not bob's session's (nor is it left on the connection he got)
    expect(
      (await bobs.query('select count(*)::int as n from pg_listening_channels()')).rows[0].n,
    ).toBe(0);
    // (on the pooler the kit refuses LISTEN: bob only notifies)
    if (!POOLED || mode !== 'login') await bobs.query('listen secrets');
    await bobs.query(`notify secrets, 'for bob only'`);
    const state = await bobs.query(
      `select current_user as who, current_setting('search_path') as path,
              current_setting('app.owner', true) as owner,
              (select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as locks`,
    );
    if (!POOLED || mode !== 'login') await bobs.query('unlisten *');
    bobs.release();
    const { owner, ...rest } = state.rows[0];
    expect(rest).toEqual({ who: BOB, path: '"$user", public', locks: 0 });
    expect(owner ?? '').toBe(''); // a custom setting, once defined, is reset to '' (not alice)
    // a round trip after the NOTIFY: it would have arrived by now
    await bob.query('select 1');
    expect(heard).toEqual([]);
  });

  it('statements made with SQL PREPARE are gone; pg’s own named statements keep working', async () => {
    const { alice, bob } = await users(mode);
    const client = await alice.pool.connect();
    const prepare = 'prepare alice_reads as select body from public.items';
    await leave(mode, ALICE, () => client.query(prepare), prepare);
    client.release();
    await alice.query(`do $$ begin execute 'prepare alice_too as select 1'; end $$`);
    const named = { name: 'bob-named', text: 'select current_user as who' };
    for (let i = 0; i < 3; i++) {
      const bobs = await bob.pool.connect();
      expect((await bobs.query(named)).rows[0].who).toBe(BOB);
      const prepared = await bobs.query(
        'select name from pg_prepared_statements where from_sql order by 1',
      );
      expect(prepared.rows).toEqual([]);
      expect(await codeOf(bobs.query('execute alice_reads'))).toBe('26000');
      bobs.release();
      await alice.query('select 1'); // alice holds the connection between bob's turns
    }
  });

  it('an identity longer than 63 bytes is refused before any lookup, not run as its prefix', async () => {
    const lakebase = make(mode);
    const victim = `${'v'.repeat(52)}@example.co`; // 63 bytes: a role that exists
    const attacker = `${victim}m`; // 64 bytes: Postgres would cut it to the victim's role
    expect(Buffer.byteLength(victim)).toBe(63);
    await lb.addUser(victim);
    if (mode !== 'login') await lb.grantSetRole(victim);
    const lookups = lakebase.stats().users.identityLookups;
    const attempt = () =>
      lakebase.asUser({
        'x-forwarded-access-token': lb.userToken(attacker),
        'x-forwarded-email': attacker,
      });
    expect(attempt).toThrow(AuthenticationError);
    expect(attempt).toThrow(/64 bytes/);
    // multi-byte characters count in bytes: 62 characters, 64 bytes
    const wide = `${'é'.repeat(26)}@example.com`;
    expect(() =>
      lakebase.asUser({
        'x-forwarded-access-token': lb.userToken(wide),
        'x-forwarded-email': wide,
      }),
    ).toThrow(AuthenticationError);
    expect(lakebase.stats().users.identityLookups).toBe(lookups);
    expect(lakebase.stats().users.pools).toBe(0);
  });

  it("a forged header (alice's token, bob's email) runs as nobody", async () => {
    const { lakebase } = await users(mode);
    const forged = lakebase.asUser({
      'x-forwarded-access-token': lb.userToken(ALICE),
      'x-forwarded-email': BOB,
    });
    await expect(forged.query('select body from public.items')).rejects.toMatchObject({
      status: 401,
    });
    await expect(forged.pool.connect()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(forged.readOnlyQuery('select 1')).rejects.toBeInstanceOf(AuthenticationError);
    expect(lakebase.stats().users.scopes).toBe(0);
    const report = await lakebase.doctor({ mint: false });
    expect(JSON.stringify(report)).not.toContain(BOB);
  });

  it('never logs a token', () => {
    expect(logger.lines.join('\n')).not.toMatch(/lbk_|eyJ/);
  });
});

describe('text that reaches a shell', () => {
  it("the missing-role 403 gives commands that stay one word per argument, o'brien included", async () => {
    const lakebase = make('login');
    const obrien = "o'brien@example.com";
    const error = (await lakebase
      .asUser({ 'x-forwarded-access-token': lb.userToken(obrien), 'x-forwarded-email': obrien })
      .query('select 1')
      .catch((e: unknown) => e)) as AuthenticationError;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.status).toBe(403);
    const commands = [...error.message.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    const databricks = commands.find((c) => c.startsWith('databricks postgres create-role'));
    expect(databricks).toBeDefined();
    // run it through /bin/sh with `databricks` standing for a program that prints its arguments
    const { execFileSync } = await import('node:child_process');
    const argv = execFileSync(
      '/bin/sh',
      ['-c', `set -- ${databricks}; shift; printf '%s\\n' "$@"`],
      {
        encoding: 'utf8',
      },
    )
      .trimEnd()
      .split('\n');
    expect(argv.slice(0, 3)).toEqual(['postgres', 'create-role', 'projects/local/branches/main']);
    expect(argv[3]).toBe('--json');
    expect(JSON.parse(argv[4] as string)).toEqual({
      spec: { identity_type: 'USER', postgres_role: obrien },
    });
    expect(argv).toHaveLength(5);
  });
});

describe('headers as Databricks Apps sends them', () => {
  it.each(MODES)(
    "'%s': a token with only x-forwarded-user (the numeric id) runs as the token's owner, never as a role named after the id",
    async (mode) => {
      const lakebase = make(mode);
      const { 'x-forwarded-user': userId, 'x-forwarded-access-token': token } =
        await lb.userHeaders(ALICE);
      expect(userId).toMatch(/^\d+$/);
      const headers = { 'x-forwarded-access-token': token, 'x-forwarded-user': userId };
      const first = lakebase.asUser(headers);
      const { rows } = await first.query('select current_user as who, body from public.items');
      expect(rows.every((r) => r.who === ALICE)).toBe(true);
      expect(rows.map((r) => r.body)).toContain('alice 1');
      expect(first.identity).toBe(ALICE);
      // the next request is served from the cache, under the owner's role
      const again = lakebase.asUser(headers);
      expect(again).toBe(first);
      expect((await again.pool.query('select current_user as who')).rows[0].who).toBe(ALICE);
      const roles = await lb.sql(`select rolname from pg_roles where rolname = $1`, [userId]);
      expect(roles).toEqual([]);
      // the id in x-forwarded-email (the owner's, with the owner's token) is a 401 too, at
      // once when the owner is known and at first use otherwise: never a role named after it
      expect(() =>
        lakebase.asUser({ 'x-forwarded-access-token': token, 'x-forwarded-email': userId }),
      ).toThrow(AuthenticationError);
      await expect(
        make(mode)
          .asUser({ 'x-forwarded-access-token': token, 'x-forwarded-email': userId })
          .query('select current_user as who'),
      ).rejects.toMatchObject({ status: 401 });
      // someone else's id with alice's token is a 401
      const bobId = (await lb.userHeaders(BOB))['x-forwarded-user'];
      await expect(
        lakebase
          .asUser({ 'x-forwarded-access-token': token, 'x-forwarded-user': bobId })
          .query('select 1'),
      ).rejects.toMatchObject({ status: 401 });
    },
  );

  it("getPgConfig() with only x-forwarded-user waits for the owner's role: a typed error first, then the owner's login", async () => {
    const lakebase = make('login');
    const { 'x-forwarded-user': userId, 'x-forwarded-access-token': token } =
      await lb.userHeaders(ALICE);
    const scope = lakebase.asUser({
      'x-forwarded-access-token': token,
      'x-forwarded-user': userId,
    });
    expect(() => scope.getPgConfig()).toThrow(ValidationError);
    expect(() => scope.getPgConfig()).toThrow(/x-forwarded-user .* scope\.query\('select 1'\)/);
    await scope.query('select 1');
    const config = scope.getPgConfig();
    expect(config.user).toBe(ALICE);
    const pool = new pg.Pool({ ...config, max: 1 });
    try {
      expect((await pool.query('select current_user as who')).rows[0].who).toBe(ALICE);
    } finally {
      await pool.end();
    }
  });
});
