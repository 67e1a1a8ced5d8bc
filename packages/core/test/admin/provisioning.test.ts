/**
 * addRole / listRoles / grantSchemaAccess against the local Lakebase: through the roles API for
 * the project owner, through databricks_create_role() for a CREATEROLE role, refused with the
 * missing permissions named for the app's SP.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionDeniedError, RolesApiError } from '../../src/admin/api-errors.js';
import { addRole, grantSchemaAccess, listRoles } from '../../src/admin/provisioning.js';
import { LakebaseRolesApi } from '../../src/admin/roles-api.js';
import { ValidationError } from '../../src/base/errors.js';
import { type Actor, actAs } from '../support/perm-helpers.js';

let lb: LocalLakebase;
let owner: Actor;
let sp: Actor;

beforeAll(async () => {
  lb = await startLocalLakebase();
  owner = actAs(lb, lb.projectOwner);
  sp = actAs(lb);
  await sp.lakebase.query(`create schema shop;
    create table shop.orders (id serial primary key, item text not null);
    insert into shop.orders (item) values ('tea');
    create function shop.total() returns bigint language sql as 'select count(*) from shop.orders'`);
});
afterAll(async () => {
  await lb?.stop();
});

const isMember = async (role: string) =>
  (await lb.sql("select pg_has_role($1, 'databricks_superuser', 'MEMBER') as m", [role]))[0].m;

describe('addRole', () => {
  it('the project owner goes through the roles API; idempotent; --superuser updates', async () => {
    const first = await addRole(owner.target, 'alice@example.com');
    expect(first).toEqual({
      role: 'alice@example.com',
      via: 'roles-api',
      created: true,
      updated: false,
    });
    expect(await addRole(owner.target, 'alice@example.com')).toMatchObject({
      created: false,
      updated: false,
    });
    expect(await isMember('alice@example.com')).toBe(false);
    expect(await addRole(owner.target, 'alice@example.com', { superuser: true })).toMatchObject({
      via: 'roles-api',
      created: false,
      updated: true,
    });
    expect(await isMember('alice@example.com')).toBe(true);
    const alice = actAs(lb, 'alice@example.com');
    expect((await alice.lakebase.query('select current_user as u')).rows[0].u).toBe(
      'alice@example.com',
    );
  });

  it('the app SP may do neither: the error names CAN_MANAGE and CREATEROLE', async () => {
    const error = await addRole(sp.target, 'bob@example.com').catch((e) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.missing).toEqual(['CAN_MANAGE on project projects/local', 'CREATEROLE']);
    expect(error.message).toContain('the roles API needs CAN_MANAGE on project projects/local');
    expect(error.message).toContain(`in SQL it needs CREATEROLE, which ${lb.env.PGUSER} lacks`);
    expect(await lb.sql("select 1 from pg_roles where rolname = 'bob@example.com'")).toEqual([]);
  });

  it('a role with CREATEROLE but no CAN_MANAGE goes through databricks_create_role()', async () => {
    const api = new LakebaseRolesApi(owner.target.workspaceClient!, lb.endpoint);
    await api.create(
      {
        identity_type: 'USER',
        postgres_role: 'creator@example.com',
        attributes: { createrole: true },
      },
      { roleId: 'creator' },
    );
    const creator = actAs(lb, 'creator@example.com');
    expect(await addRole(creator.target, 'carol@example.com')).toEqual({
      role: 'carol@example.com',
      via: 'sql',
      created: true,
      updated: false,
    });
    const group = await addRole(creator.target, 'readers', { type: 'GROUP' });
    expect(group).toMatchObject({ via: 'sql', created: true });
    const refused = await addRole(creator.target, 'carol@example.com', { superuser: true }).catch(
      (e) => e,
    );
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect(refused.missing).toEqual([
      'CAN_MANAGE on project projects/local',
      'ADMIN OPTION on databricks_superuser',
    ]);
  });

  it('bad identities are named before anything runs', async () => {
    await expect(addRole(owner.target, 'readers')).rejects.toThrow(
      /for a workspace group pass type GROUP/,
    );
    await expect(addRole(owner.target, 'not-an-email', { type: 'USER' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      addRole(owner.target, 'x@example.com', { type: 'ADMIN' as 'USER' }),
    ).rejects.toThrow(/expected USER, SERVICE_PRINCIPAL or GROUP/);
  });
});

describe('listRoles', () => {
  it('through the API for the owner, from pg_roles for the SP', async () => {
    const viaApi = await listRoles(owner.target);
    expect(viaApi.via).toBe('roles-api');
    expect(viaApi.roles.find((r) => r.postgresRole === 'alice@example.com')).toMatchObject({
      roleId: 'alice-example-com',
      identityType: 'USER',
      superuser: true,
      bypassrls: false,
    });
    const viaSql = await listRoles(sp.target);
    expect(viaSql.via).toBe('sql');
    expect(viaSql.roles.find((r) => r.postgresRole === 'alice@example.com')).toMatchObject({
      identityType: 'USER',
      superuser: true,
      canLogin: true,
    });
    expect(viaSql.roles.map((r) => r.postgresRole)).not.toContain('postgres');
  });
});

describe('LakebaseRolesApi', () => {
  it('create, get, update attributes, delete; API errors are typed', async () => {
    const api = new LakebaseRolesApi(owner.target.workspaceClient!, lb.branch);
    const created = await api.create(
      { identity_type: 'USER', postgres_role: 'temp@example.com' },
      { roleId: 'temp-role' },
    );
    expect(created.name).toBe('projects/local/branches/main/roles/temp-role');
    const updated = await api.update('temp-role', { attributes: { createdb: true } }, [
      'spec.attributes.createdb',
    ]);
    expect(updated.status?.attributes).toEqual({
      createdb: true,
      createrole: false,
      bypassrls: false,
    });
    expect((await api.get('temp-role')).status?.postgres_role).toBe('temp@example.com');
    const duplicate = await api
      .create({ identity_type: 'USER', postgres_role: 'temp@example.com' })
      .catch((e) => e);
    expect(duplicate).toBeInstanceOf(RolesApiError);
    expect(duplicate).toMatchObject({ status: 502, apiStatus: 409, errorCode: 'ALREADY_EXISTS' });
    await api.delete('temp-role');
    await expect(api.get('temp-role')).rejects.toMatchObject({
      apiStatus: 404,
      errorCode: 'NOT_FOUND',
    });
  });
});

/** Each privilege checked alone (a list in `has_*_privilege` means "any of"). */
async function privileges(role: string) {
  const all = (check: string, object: string, list: string) =>
    `(select bool_and(${check}($1, '${object}', p)) from unnest(array[${list}]) p)`;
  return lb.sql(
    `select
       has_schema_privilege($1, 'shop', 'USAGE') as usage,
       has_schema_privilege($1, 'shop', 'CREATE') as "create",
       ${all('has_table_privilege', 'shop.orders', "'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'")} as tables,
       has_table_privilege($1, 'shop.orders', 'SELECT') as "select",
       ${all('has_sequence_privilege', 'shop.orders_id_seq', "'USAGE', 'SELECT', 'UPDATE'")} as sequences,
       has_function_privilege($1, 'shop.total()', 'EXECUTE') as functions,
       has_database_privilege($1, current_database(), 'CONNECT') as connect`,
    [role],
  );
}

describe('grantSchemaAccess', () => {
  it("has the effect of the seed's script (and also covers the SP's future tables); idempotent", async () => {
    // the seed's script, for one user, run by the project owner
    await owner.lakebase.query(`create extension if not exists databricks_auth;
      do $$ begin perform databricks_create_role('seeded@example.com', 'USER'); end $$`);
    await owner.lakebase.query(`do $$ begin
      execute format('GRANT ALL ON SCHEMA %s TO %I', 'shop', 'seeded@example.com');
      execute format('GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA %s TO %I', 'shop', 'seeded@example.com');
      execute format('GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA %s TO %I', 'shop', 'seeded@example.com');
      execute format('GRANT ALL PRIVILEGES ON ALL FUNCTIONS IN SCHEMA %s TO %I', 'shop', 'seeded@example.com');
      execute format('ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT ALL ON TABLES TO %I', 'shop', 'seeded@example.com');
    end $$`);
    const result = await grantSchemaAccess(owner.target, 'frank@example.com', { schema: 'shop' });
    expect(result.createdRole).toMatchObject({ via: 'roles-api', created: true });
    expect(await privileges('frank@example.com')).toEqual(await privileges('seeded@example.com'));
    expect((await privileges('frank@example.com'))[0]).toEqual({
      usage: true,
      create: true,
      tables: true,
      select: true,
      sequences: true,
      functions: true,
      connect: true,
    });
    const again = await grantSchemaAccess(owner.target, 'frank@example.com', { schema: 'shop' });
    expect(again.createdRole).toBeUndefined();

    const frank = actAs(lb, 'frank@example.com');
    await frank.lakebase.query("insert into shop.orders (item) values ('milk')");
    expect((await frank.lakebase.query('select shop.total() as n')).rows[0].n).toBe('2');
    // a table the SP creates later is covered too (default privileges for the schema owner)
    await sp.lakebase.query('create table shop.later (v int)');
    await frank.lakebase.query('select * from shop.later');
    // and one the project owner creates, as with the seed's own default privileges
    await owner.lakebase.query('create table shop.by_owner (v int)');
    await frank.lakebase.query('select * from shop.by_owner');
  });

  it('read-only: USAGE and SELECT, now and later; no writes', async () => {
    await grantSchemaAccess(owner.target, 'reader@example.com', { schema: 'shop', readOnly: true });
    const reader = actAs(lb, 'reader@example.com');
    expect(
      (await reader.lakebase.query('select item from shop.orders order by id')).rows[0].item,
    ).toBe('tea');
    await expect(
      reader.lakebase.query("insert into shop.orders (item) values ('x')"),
    ).rejects.toMatchObject({
      code: '42501',
    });
    await sp.lakebase.query('create table shop.read_later (v int)');
    await reader.lakebase.query('select * from shop.read_later');
    const [p] = await privileges('reader@example.com');
    expect(p).toMatchObject({
      usage: true,
      create: false,
      tables: false,
      select: true,
      sequences: false,
    });
  });

  it('the SP grants on its own schema to an existing role; a plain user cannot; unknown schema is named', async () => {
    await addRole(owner.target, 'gina@example.com');
    await sp.lakebase.query('create schema stock; create table stock.items (v int)');
    await grantSchemaAccess(sp.target, 'gina@example.com', { schema: 'stock', readOnly: true });
    const gina = actAs(lb, 'gina@example.com');
    await gina.lakebase.query('select * from stock.items');
    const refused = await grantSchemaAccess(gina.target, 'alice@example.com', {
      schema: 'stock',
    }).catch((e) => e);
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect(refused.message).toContain('gina@example.com may not grant on schema stock');
    expect(refused.missing).toEqual([
      'grant option on schema stock',
      'grant option on table stock.items',
    ]);
    // shop.by_owner belongs to the project owner: the SP may not grant on it
    const partly = await grantSchemaAccess(sp.target, 'gina@example.com', { schema: 'shop' }).catch(
      (e) => e,
    );
    expect(partly).toBeInstanceOf(PermissionDeniedError);
    expect(partly.message).toContain('permission denied for table by_owner');
    await expect(
      grantSchemaAccess(owner.target, 'gina@example.com', { schema: 'nope' }),
    ).rejects.toThrow('Schema "nope" does not exist');
  });
});
