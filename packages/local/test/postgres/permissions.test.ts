/**
 * Lakebase's permission model, emulated: the SP with CONNECT and CREATE only, the project owner,
 * `databricks_superuser`, the `databricks_auth` extension, and the seed's fine-grained grants
 * script run verbatim by the owner against a schema the SP owns.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAs, connectError, postCredentials } from '../helpers.js';
import { seedGrantsScript } from '../seed.js';

const CAROL = 'carol@example.com';
const DAVE = 'dave@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({ groups: { analysts: [CAROL] } });
});
afterAll(async () => {
  await lb?.stop();
});

const login = (user: string, password = lb.mintPgToken(user).token) =>
  connectAs(lb, user, password);

/** Runs `fn` on a connection as `user`, then closes it. */
async function as<T>(user: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await login(user);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('roles of a Lakebase project', () => {
  it('databricks_superuser: NOLOGIN, not a superuser, member of the read/write/monitor roles', async () => {
    const [role] = await lb.sql(
      `select rolcanlogin, rolsuper,
         array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
               where m.member = r.oid order by 1) as member_of
       from pg_roles r where rolname = 'databricks_superuser'`,
    );
    expect(role).toEqual({
      rolcanlogin: false,
      rolsuper: false,
      member_of: ['pg_monitor', 'pg_read_all_data', 'pg_write_all_data'],
    });
    await expect(
      connectError(lb, 'databricks_superuser', lb.mintPgToken('databricks_superuser').token),
    ).resolves.toMatchObject({ code: '28000' });
  });

  it('the project owner owns the database, is a member of databricks_superuser and logs in with its token', async () => {
    const owner = await as(lb.projectOwner, async (client) => {
      const { rows } = await client.query(
        `select current_user as me, rolcreaterole, rolbypassrls, rolsuper,
           pg_has_role(current_user, 'databricks_superuser', 'MEMBER') as superuser_member,
           (select datdba::regrole::text from pg_database where datname = current_database()) as db_owner
         from pg_roles where rolname = current_user`,
      );
      return rows[0];
    });
    expect(owner).toEqual({
      me: 'owner@example.com',
      rolcreaterole: true,
      rolbypassrls: true,
      rolsuper: false,
      superuser_member: true,
      db_owner: '"owner@example.com"',
    });
  });
});

describe('databricks_auth', () => {
  it('the owner creates USER, SERVICE_PRINCIPAL and GROUP roles that log in with their tokens', async () => {
    const spId = '6b0cf1f2-43ad-4d5e-9b1c-0e6a0c3b2f11';
    await as(lb.projectOwner, async (owner) => {
      await owner.query('create extension if not exists databricks_auth');
      await owner.query('create extension if not exists databricks_auth'); // idempotent
      for (const [identity, type] of [
        [DAVE, 'USER'],
        [spId, 'service_principal'],
        ['analysts', 'GROUP'],
      ]) {
        const { rows } = await owner.query('select databricks_create_role($1, $2) as r', [
          identity,
          type,
        ]);
        expect(rows[0].r).toBe(identity);
      }
    });
    // a user role logs in with a token from the credential API, minted with dave's own token
    const response = await postCredentials(lb, lb.userToken(DAVE));
    const { token } = (await response.json()) as { token: string };
    expect(await as(DAVE, async () => 'ok')).toBe('ok');
    const dave = await login(DAVE, token);
    const { rows } = await dave.query(
      'select rolcanlogin, rolsuper, rolbypassrls, rolcreaterole from pg_roles where rolname = current_user',
    );
    expect(rows[0]).toEqual({
      rolcanlogin: true,
      rolsuper: false,
      rolbypassrls: false,
      rolcreaterole: false,
    });
    await dave.end();
    await (await login(spId)).end();
  });

  it('a GROUP role: members log in as the group with their own token, others cannot', async () => {
    const carolsOwn = lb.mintPgToken(CAROL).token;
    const asGroup = await login('analysts', carolsOwn);
    expect((await asGroup.query('select current_user as u')).rows[0].u).toBe('analysts');
    await asGroup.end();
    await expect(connectError(lb, 'analysts', lb.mintPgToken(DAVE).token)).resolves.toMatchObject({
      code: '28P01',
    });
    // the credential API also mints for the group (group_name), for members only
    const forCarol = await postCredentials(lb, lb.userToken(CAROL), {
      endpoint: lb.endpoint,
      group_name: 'analysts',
    });
    expect(forCarol.status).toBe(200);
    const { token } = (await forCarol.json()) as { token: string };
    await (await login('analysts', token)).end();
    const forDave = await postCredentials(lb, lb.userToken(DAVE), {
      endpoint: lb.endpoint,
      group_name: 'analysts',
    });
    expect(forDave.status).toBe(403);
    expect(((await forDave.json()) as { message: string }).message).toContain(
      "not a member of workspace group 'analysts'",
    );
  });

  it('only a role with CREATEROLE may create roles; bad arguments are named', async () => {
    await as(lb.env.PGUSER, async (sp) => {
      await sp.query('create extension if not exists databricks_auth');
      const denied = await sp
        .query("select databricks_create_role('eve@example.com', 'USER')")
        .catch((e) => e);
      expect(denied).toMatchObject({
        code: '42501',
        message: 'permission denied to create role "eve@example.com"',
      });
      expect(denied.detail).toContain('lacks the CREATEROLE attribute');
      expect(denied.hint).toContain('project owner');
    });
    await as(lb.projectOwner, async (owner) => {
      for (const [args, code, text] of [
        [
          ['eve@example.com', 'ADMIN'],
          '22023',
          'identity_type must be USER, SERVICE_PRINCIPAL or GROUP',
        ],
        [['not-an-email', 'USER'], '22023', "a USER identity is the user's email"],
        [['eve', 'SERVICE_PRINCIPAL'], '22023', 'application id (a UUID)'],
        [[DAVE, 'USER'], '42710', `role "${DAVE}" already exists`],
      ] as const) {
        await expect(
          owner.query('select databricks_create_role($1, $2)', [...args]),
        ).rejects.toMatchObject({ code, message: expect.stringContaining(text) });
      }
    });
    expect(await lb.sql("select 1 from pg_roles where rolname = 'eve@example.com'")).toEqual([]);
  });
});

describe("the seed's fine-grained grants", () => {
  it('the SP cannot read a table it does not own until it is granted', async () => {
    await as(lb.projectOwner, (owner) =>
      owner.query(`create schema devdata;
        create table devdata.notes (id int, body text);
        insert into devdata.notes values (1, 'by the developer')`),
    );
    await as(lb.env.PGUSER, async (sp) => {
      await expect(sp.query('select * from devdata.notes')).rejects.toMatchObject({
        code: '42501',
      });
    });
    await as(lb.projectOwner, (owner) =>
      owner.query(`grant usage on schema devdata to "${lb.env.PGUSER}";
        grant select on devdata.notes to "${lb.env.PGUSER}"`),
    );
    const rows = await as(
      lb.env.PGUSER,
      async (sp) => (await sp.query('select body from devdata.notes')).rows,
    );
    expect(rows).toEqual([{ body: 'by the developer' }]);
  });

  it('run verbatim by the project owner, it gives a user access to the schema the SP owns', async () => {
    const subject = 'frank@example.com';
    await as(lb.env.PGUSER, (sp) =>
      sp.query(`create schema shop;
        create table shop.orders (id serial primary key, item text not null);
        insert into shop.orders (item) values ('tea');
        create function shop.total() returns bigint language sql as 'select count(*) from shop.orders';
        create procedure shop.noop() language sql as 'select 1'`),
    );
    const before = await connectError(lb, subject, lb.mintPgToken(subject).token);
    expect(before.code).toBe('28P01'); // no role yet: rejected as Lakebase does

    await as(lb.projectOwner, (owner) => owner.query(seedGrantsScript(subject, 'shop')));

    await as(subject, async (frank) => {
      expect((await frank.query('select item from shop.orders')).rows).toEqual([{ item: 'tea' }]);
      await frank.query("insert into shop.orders (item) values ('milk')");
      expect((await frank.query('select shop.total() as n')).rows[0].n).toBe('2');
      await frank.query('call shop.noop()');
    });
    const [owned] = await lb.sql(
      "select nspowner::regrole::text as owner from pg_namespace where nspname = 'shop'",
    );
    expect(owned.owner).toBe(`"${lb.env.PGUSER}"`);
    // the script's default privileges cover the future tables of the role that ran it
    await as(lb.projectOwner, (owner) => owner.query('create table shop.later (v int)'));
    await as(subject, (frank) => frank.query('select * from shop.later'));
  });
});
