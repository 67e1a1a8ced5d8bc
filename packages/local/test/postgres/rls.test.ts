import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAs } from '../helpers.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
});
afterAll(async () => {
  await lb?.stop();
});

describe('roles as databricks_create_role leaves them', () => {
  it('SP owns the schema/table, enables RLS; each user sees only their rows; the SP sees all', async () => {
    const sp = await connectAs(lb, lb.env.PGUSER, lb.mintPgToken(lb.env.PGUSER).token);
    await sp.query('create schema app');
    await sp.query(`create table app.notes (
      id serial primary key,
      owner text not null default current_user,
      body text not null)`);
    await sp.query('alter table app.notes enable row level security');
    await sp.query('create policy own_rows on app.notes using (owner = current_user)');
    await sp.query(`grant usage on schema app to "${ALICE}", "${BOB}"`);
    await sp.query(`grant select, insert on app.notes to "${ALICE}", "${BOB}"`);
    await sp.query(`grant usage on sequence app.notes_id_seq to "${ALICE}", "${BOB}"`);

    for (const user of [ALICE, BOB]) {
      const client = await connectAs(lb, user, lb.mintPgToken(user).token);
      await client.query('insert into app.notes (body) values ($1), ($2)', [
        `${user} 1`,
        `${user} 2`,
      ]);
      await client.end();
    }
    for (const user of [ALICE, BOB]) {
      const client = await connectAs(lb, user, lb.mintPgToken(user).token);
      const { rows } = await client.query('select owner, body from app.notes order by id');
      expect(rows).toEqual([
        { owner: user, body: `${user} 1` },
        { owner: user, body: `${user} 2` },
      ]);
      await client.end();
    }
    const all = await sp.query('select count(*)::int as n from app.notes');
    expect(all.rows[0].n).toBe(4);
    await sp.end();
  });

  it('the SP has CONNECT and CREATE on the database, not ownership, and is not a superuser', async () => {
    const sp = await connectAs(lb, lb.env.PGUSER, lb.mintPgToken(lb.env.PGUSER).token);
    await expect(sp.query('create table public.things (id int)')).rejects.toMatchObject({
      code: '42501',
      message: 'permission denied for schema public',
    });
    await sp.query('create schema things; create table things.things (id int)');
    const { rows } = await sp.query(
      `select rolsuper, rolbypassrls, rolcreatedb, rolcreaterole,
         has_database_privilege(current_database(), 'CONNECT') as connect,
         has_database_privilege(current_database(), 'CREATE') as "create",
         (select datdba::regrole::text from pg_database where datname = current_database()) as owner
       from pg_roles where rolname = current_user`,
    );
    expect(rows[0]).toEqual({
      rolsuper: false,
      rolbypassrls: false,
      rolcreatedb: false,
      rolcreaterole: false,
      connect: true,
      create: true,
      owner: `"${lb.projectOwner}"`,
    });
    await sp.end();
  });

  it('a user cannot create schemas; addUser is idempotent', async () => {
    await Promise.all([lb.addUser('dave@example.com'), lb.addUser('dave@example.com')]);
    await lb.addUser('dave@example.com');
    const roles = await lb.sql<{ n: number }>(
      "select count(*)::int as n from pg_roles where rolname = 'dave@example.com'",
    );
    expect(roles[0]!.n).toBe(1);
    const dave = await connectAs(lb, 'dave@example.com', lb.mintPgToken('dave@example.com').token);
    await expect(dave.query('create schema nope')).rejects.toMatchObject({ code: '42501' });
    await dave.end();
  });

  it('adds many distinct users at once (role changes never collide)', async () => {
    const emails = Array.from({ length: 150 }, (_, i) => `many${i}@example.com`);
    await Promise.all(emails.map((email) => lb.userHeaders(email)));
    const roles = await lb.sql<{ n: number }>(
      "select count(*)::int as n from pg_roles where rolname like 'many%@example.com'",
    );
    expect(roles[0]!.n).toBe(150);
  });

  it('addUser rejects names that are not usable emails', async () => {
    await expect(lb.addUser('no spaces@example.com')).rejects.toThrow(TypeError);
    await expect(lb.addUser(`${'x'.repeat(60)}@example.com`)).rejects.toThrow(TypeError);
  });

  it('sql() runs as superuser directly on Postgres, with parameters', async () => {
    const rows = await lb.sql<{ su: boolean; v: string }>(
      "select current_setting('is_superuser') = 'on' as su, $1::text as v",
      ['x'],
    );
    expect(rows).toEqual([{ su: true, v: 'x' }]);
  });
});
