import { AuthenticationError, ConfigurationError, createLakebase } from '@lakebase-kit/core';
import type { LocalLakebase } from '@lakebase-kit/local';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../examples/db.js';
import { type LakebaseKysely, lakebaseKysely, migrate } from '../src/index.js';
import { migrationFolder, migratorFor } from './migrator.js';
import { ALICE, BOB, captureLogger, startWorld, stopWorld, TOKEN_PATTERN } from './world.js';

let lb: LocalLakebase;
let lk: LakebaseKysely<DB>;
const logs: string[] = [];

beforeAll(async () => {
  lb = await startWorld();
  lk = lakebaseKysely<DB>({ logger: captureLogger(logs) });
});

afterAll(async () => {
  await lk?.destroy();
  await stopWorld(lb);
});

const userKysely = async (email: string) => lk.asUser(await lb.userHeaders(email));
const currentUser = async (db: Kysely<DB>) =>
  (await sql<{ user: string }>`select current_user as "user"`.execute(db)).rows[0]?.user;

describe('migrations', () => {
  it('Kysely’s Migrator with a file provider runs as the service principal', async () => {
    const { results, error } = await (await migratorFor(lk.direct)).migrateToLatest();
    expect(error).toBeUndefined();
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual([
      ['2026-01-01T00-00_notes', 'Success'],
      ['2026-01-02T00-00_tags', 'Success'],
    ]);
    const owners = await lb.sql(
      `select schemaname, tablename, tableowner from pg_tables
       where tablename in ('notes', 'kysely_migration', 'kysely_migration_lock') order by 2`,
    );
    expect(owners).toEqual([
      { schemaname: 'kysely', tablename: 'kysely_migration', tableowner: lb.env.PGUSER },
      { schemaname: 'kysely', tablename: 'kysely_migration_lock', tableowner: lb.env.PGUSER },
      { schemaname: 'app', tablename: 'notes', tableowner: lb.env.PGUSER },
    ]);
  });

  it('is idempotent, also when two instances migrate at once', async () => {
    const other = createLakebase();
    try {
      const second = lakebaseKysely<DB>({ lakebase: other });
      const [a, b] = await Promise.all([
        migratorFor(lk.direct).then((m) => m.migrateToLatest()),
        migratorFor(second.direct).then((m) => m.migrateToLatest()),
      ]);
      expect(a.error).toBeUndefined();
      expect(b.error).toBeUndefined();
      expect([...(a.results ?? []), ...(b.results ?? [])]).toEqual([]);
      await second.destroy();
      expect(other.closed).toBe(false);
    } finally {
      await other.close();
    }
    const applied = await lb.sql('select count(*)::int as n from kysely.kysely_migration');
    expect(applied).toEqual([{ n: 2 }]);
  });

  it('migrate(): the folder again is a no-op; inline migrations apply; a failing one throws', async () => {
    expect(await migrate(lk, { migrationFolder })).toEqual([]);

    const applied = await migrate(lk, {
      migrationTableSchema: 'extra_migrations',
      migrations: {
        '001_extra': {
          up: async (db) => {
            await sql`create schema extra`.execute(db);
            await sql`create table extra.t (v int)`.execute(db);
          },
        },
      },
    });
    expect(applied).toEqual([{ migrationName: '001_extra', direction: 'Up', status: 'Success' }]);
    expect(await lb.sql(`select tableowner from pg_tables where schemaname = 'extra'`)).toEqual([
      { tableowner: lb.env.PGUSER },
    ]);

    const failing = migrate(lk, {
      migrationTableSchema: 'failing_migrations',
      migrations: {
        '001_bad': { up: async (db) => void (await sql`select * from no_such_table`.execute(db)) },
      },
    });
    await expect(failing).rejects.toMatchObject({ code: '42P01' });
    await expect(migrate(lk, {})).rejects.toThrow(/exactly one of/);
  });
});

describe('lakebaseKysely', () => {
  it('runs typed queries as the service principal', async () => {
    expect(await currentUser(lk.kysely)).toBe(lb.env.PGUSER);
    const note = await lk.kysely
      .insertInto('app.notes')
      .values({ body: 'from the SP' })
      .returningAll()
      .executeTakeFirstOrThrow();
    expect(note).toMatchObject({ body: 'from the SP', owner: lb.env.PGUSER, tag: 'general' });
    expect(note.created_at).toBeInstanceOf(Date);
  });

  it('runs typed queries as each user, with RLS isolating their rows; the SP sees all', async () => {
    const alice = await userKysely(ALICE);
    const bob = await userKysely(BOB);
    expect(await currentUser(alice)).toBe(ALICE);
    expect(await currentUser(bob)).toBe(BOB);

    const inserted = await alice
      .insertInto('app.notes')
      .values([{ body: 'alice 1' }, { body: 'alice 2', tag: 'work' }])
      .returning(['id', 'owner'])
      .execute();
    expect(inserted.map((r) => r.owner)).toEqual([ALICE, ALICE]);
    await bob.insertInto('app.notes').values({ body: 'bob 1' }).execute();

    const aliceRows = await alice
      .selectFrom('app.notes')
      .select(['body', 'owner'])
      .orderBy('id')
      .execute();
    expect(aliceRows).toEqual([
      { body: 'alice 1', owner: ALICE },
      { body: 'alice 2', owner: ALICE },
    ]);
    const bobRows = await bob.selectFrom('app.notes').select(['body', 'owner']).execute();
    expect(bobRows).toEqual([{ body: 'bob 1', owner: BOB }]);

    // Bob can neither read nor change alice's rows by id.
    const stolen = await bob
      .selectFrom('app.notes')
      .selectAll()
      .where('id', '=', inserted[0]!.id)
      .execute();
    expect(stolen).toEqual([]);
    const updated = await bob
      .updateTable('app.notes')
      .set({ body: 'hacked' })
      .where('id', '=', inserted[0]!.id)
      .executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(0n);

    const owners = await lk.kysely.selectFrom('app.notes').select('owner').distinct().execute();
    expect(new Set(owners.map((o) => o.owner))).toEqual(new Set([lb.env.PGUSER, ALICE, BOB]));
  });

  it('a transaction that throws rolls back', async () => {
    const alice = await userKysely(ALICE);
    await expect(
      alice.transaction().execute(async (trx) => {
        await trx.insertInto('app.notes').values({ body: 'rolled back' }).execute();
        expect(await currentUser(trx)).toBe(ALICE);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await lk.kysely
      .selectFrom('app.notes')
      .selectAll()
      .where('body', '=', 'rolled back')
      .execute();
    expect(rows).toEqual([]);
  });

  it('a committed transaction is visible to its owner only', async () => {
    const alice = await userKysely(ALICE);
    const id = await alice.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('app.notes')
        .values({ body: 'committed' })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    });
    const mine = await alice.selectFrom('app.notes').select('owner').where('id', '=', id).execute();
    expect(mine).toEqual([{ owner: ALICE }]);
    const bob = await userKysely(BOB);
    expect(await bob.selectFrom('app.notes').selectAll().where('id', '=', id).execute()).toEqual(
      [],
    );
  });

  it('asUser is cached per user scope (once core verified the token) and cheap per request', async () => {
    const headers = await lb.userHeaders(ALICE);
    // core caches a scope only once its token is verified (the first query does that)
    expect(await currentUser(lk.asUser(headers))).toBe(ALICE);
    const first = lk.asUser(headers);
    expect(lk.asUser({ ...headers })).toBe(first);
    expect(await currentUser(first)).toBe(ALICE);
    expect((await userKysely(BOB)) === first).toBe(false);
  });

  it('withUser(req), the deprecated older name, is asUser(req) with the identity and scope', async () => {
    const headers = await lb.userHeaders(ALICE);
    await currentUser(lk.asUser(headers)); // verified, so cached
    const user = lk.withUser(headers);
    expect(user.kysely).toBe(lk.asUser(headers));
    expect(lk.withUser({ ...headers })).toBe(user);
    expect(user.identity).toBe(ALICE);
    expect(user.scope.identity).toBe(ALICE);
    expect(await currentUser(user.kysely)).toBe(ALICE);
  });

  it('destroying a per-user Kysely never ends the user’s pool or the SP pool', async () => {
    const headers = await lb.userHeaders(BOB);
    const bob = lk.asUser(headers);
    const scope = lk.lakebase.asUser(headers);
    await bob.selectFrom('app.notes').select('id').execute();
    await bob.destroy();
    expect(scope.pool.ending).toBe(false);
    expect(lk.lakebase.pool.ending).toBe(false);
    // The destroyed instance is forgotten: the next request gets a working one.
    const next = lk.asUser(headers);
    expect(next).not.toBe(bob);
    expect(await currentUser(next)).toBe(BOB);
    expect(await scope.query('select current_user as u').then((r) => r.rows)).toEqual([{ u: BOB }]);
  });

  it('refuses a request without a user token', () => {
    expect(() => lk.asUser({})).toThrow(/token/i);
  });

  it('refuses another user’s token, and the error never contains it', async () => {
    const bobHeaders = await lb.userHeaders(BOB);
    const forged = { ...bobHeaders, 'x-forwarded-email': ALICE };
    const error = await Promise.resolve()
      .then(() => lk.asUser(forged).selectFrom('app.notes').selectAll().execute())
      .then(
        (rows) => ({ rows }),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    const cause = (error as Error).cause;
    expect(error instanceof AuthenticationError || cause instanceof AuthenticationError).toBe(true);
    const seen = `${String(error)} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    expect(seen).not.toContain(bobHeaders['x-forwarded-access-token']);
    expect(seen).not.toMatch(TOKEN_PATTERN);
  });

  it("in userPools.mode 'set-role' the user's Kysely runs as the user on the SP's pool", async () => {
    await lb.grantSetRole(ALICE);
    const shared = lakebaseKysely<DB>({ userPools: { mode: 'set-role' } });
    try {
      const logins = lb.stats().connections[ALICE]?.total ?? 0;
      const alice = shared.asUser(await lb.userHeaders(ALICE));
      expect(await currentUser(alice)).toBe(ALICE);
      await alice.transaction().execute(async (tx) => {
        await tx.insertInto('app.notes').values({ body: 'alice via set-role' }).execute();
      });
      const rows = await alice.selectFrom('app.notes').select(['owner']).execute();
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.owner === ALICE)).toBe(true);
      expect(lb.stats().connections[ALICE]?.total ?? 0).toBe(logins); // no login as alice
    } finally {
      await shared.destroy();
    }
  });

  it('never logs a token', () => {
    for (const line of logs) expect(line).not.toMatch(TOKEN_PATTERN);
  });
});

describe('ownership', () => {
  it('destroy() and kysely.destroy() never close a shared Lakebase', async () => {
    const lakebase = createLakebase();
    try {
      const shared = lakebaseKysely<DB>({ lakebase });
      expect(shared.lakebase).toBe(lakebase);
      await shared.kysely.selectFrom('app.notes').select('id').limit(1).execute();
      await shared.kysely.destroy();
      await shared.destroy();
      expect(lakebase.closed).toBe(false);
      expect((await lakebase.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await lakebase.close();
    }
  });

  it('destroy() closes a Lakebase it created; idempotent', async () => {
    const owned = lakebaseKysely<DB>();
    await owned.kysely.selectFrom('app.notes').select('id').limit(1).execute();
    await owned.destroy();
    await owned.destroy();
    expect(owned.lakebase.closed).toBe(true);
  });

  it('a user’s Kysely outlives the eviction of their pool, and is forgotten with the scope', async () => {
    const small = lakebaseKysely<DB>({ userPools: { maxPools: 1, idleTimeoutMillis: 300 } });
    try {
      const aliceHeaders = await lb.userHeaders(ALICE);
      await currentUser(small.asUser(aliceHeaders)); // verified, so cached
      const first = small.withUser(aliceHeaders);
      expect(small.asUser(aliceHeaders)).toBe(first.kysely);
      expect(await currentUser(first.kysely)).toBe(ALICE);
      const bob = small.withUser(await lb.userHeaders(BOB));
      expect(await currentUser(bob.kysely)).toBe(BOB);
      expect(small.lakebase.stats().users.evictions).toBeGreaterThanOrEqual(1);
      // alice's pool was evicted; her Kysely still runs as her (on a new pool)
      expect(small.withUser(aliceHeaders)).toBe(first);
      expect(await currentUser(first.kysely)).toBe(ALICE);

      await new Promise<void>((resolve) => first.scope.onClose(resolve));
      const again = small.withUser(aliceHeaders);
      expect(again.scope).not.toBe(first.scope);
      expect(again.kysely).not.toBe(first.kysely);
      expect(await currentUser(again.kysely)).toBe(ALICE);
    } finally {
      await small.destroy();
    }
  });

  it('rejects connection options next to a shared Lakebase', async () => {
    const lakebase = createLakebase();
    try {
      expect(() => lakebaseKysely({ lakebase, endpoint: lb.env.LAKEBASE_ENDPOINT })).toThrow(
        ConfigurationError,
      );
    } finally {
      await lakebase.close();
    }
  });
});
