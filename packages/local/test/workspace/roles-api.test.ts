/**
 * The roles REST API, through the real Databricks SDK, with the seed's `create-role` and
 * `update-role` JSON bodies exactly as the guide prints them.
 */
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAs, rolesApi } from '../helpers.js';
import { type SeedCommand, seedCommands } from '../seed.js';

const USER = 'user@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({
    groups: { 'data-team': ['ann@example.com'] },
    projectPermissions: { 'viewer@example.com': 'CAN_USE' },
  });
});
afterAll(async () => {
  await lb?.stop();
});

interface Operation {
  name: string;
  done?: boolean;
  response?: Record<string, unknown>;
}
interface Role {
  name: string;
  role_id: string;
  status: Record<string, unknown>;
}

/**
 * `databricks postgres <verb> <args> --json '<json>'` as the Databricks CLI sends it (as
 * `identity`, with a bearer token): the call, then polling the long-running operation.
 */
async function databricksPostgres(
  identity: string,
  verb: 'create-role' | 'update-role',
  command: SeedCommand,
  placeholders: Record<string, string>,
): Promise<Record<string, unknown>> {
  const [resource, mask] = command.args.map((arg) =>
    arg.replace(/\{(\w+)\}/g, (_, key: string) => placeholders[key] ?? `{${key}}`),
  );
  const headers = {
    authorization: `Bearer ${lb.userToken(identity)}`,
    'content-type': 'application/json',
  };
  const url =
    verb === 'create-role'
      ? `${lb.host}/api/2.0/postgres/${resource}/roles`
      : `${lb.host}/api/2.0/postgres/${resource}?update_mask=${encodeURIComponent(mask!)}`;
  const answer = await fetch(url, {
    method: verb === 'create-role' ? 'POST' : 'PATCH',
    headers,
    body: command.json,
  });
  expect(answer.status).toBe(200);
  const operation = (await answer.json()) as Operation;
  let current = operation;
  for (let polls = 0; !current.done; polls++) {
    if (polls > 10) throw new Error(`operation ${operation.name} never finished`);
    const polled = await fetch(`${lb.host}/api/2.0/postgres/${operation.name}`, { headers });
    current = (await polled.json()) as Operation;
  }
  return current.response!;
}

const placeholders = () => ({ project_id: 'local', branch_id: 'main' });

describe("the seed's commands", () => {
  it('create-role makes an OAuth role that logs in; update-role grants DATABRICKS_SUPERUSER', async () => {
    const owner = lb.projectOwner;
    const [create, createSuperuser] = seedCommands('create-role');
    const [update] = seedCommands('update-role');
    expect(create && createSuperuser && update).toBeTruthy();

    const created = (await databricksPostgres(
      owner,
      'create-role',
      create!,
      placeholders(),
    )) as unknown as Role;
    expect(created).toMatchObject({
      name: 'projects/local/branches/main/roles/user-example-com',
      role_id: 'user-example-com',
      status: {
        postgres_role: USER,
        identity_type: 'USER',
        auth_method: 'LAKEBASE_OAUTH_V1',
        membership_roles: [],
        attributes: { createdb: false, createrole: false, bypassrls: false },
      },
    });
    const user = await connectAs(lb, USER, lb.mintPgToken(USER).token);
    expect((await user.query('select current_user as u')).rows[0].u).toBe(USER);
    await user.end();

    const updated = (await databricksPostgres(owner, 'update-role', update!, {
      ...placeholders(),
      role_id: created.role_id,
    })) as unknown as Role;
    expect(updated.status).toMatchObject({ membership_roles: ['DATABRICKS_SUPERUSER'] });
    const [member] = await lb.sql("select pg_has_role($1, 'databricks_superuser', 'MEMBER') as m", [
      USER,
    ]);
    expect(member.m).toBe(true);

    // The second create-role of the guide (with membership_roles) for another user.
    const other = {
      ...createSuperuser!,
      json: createSuperuser!.json.replace(USER, 'other@example.com'),
    };
    const superuser = (await databricksPostgres(
      owner,
      'create-role',
      other,
      placeholders(),
    )) as unknown as Role;
    expect(superuser.status).toMatchObject({
      postgres_role: 'other@example.com',
      membership_roles: ['DATABRICKS_SUPERUSER'],
    });
  });
});

describe('roles API', () => {
  it('lists and gets roles, including those made in SQL; pages with page_size', async () => {
    const list = await rolesApi(lb, lb.projectOwner, 'GET', '/roles');
    expect(list.status).toBe(200);
    const { roles } = (await list.json()) as { roles: Role[] };
    const byName = new Map(roles.map((role) => [role.status.postgres_role, role]));
    expect(byName.get(lb.projectOwner)?.status).toMatchObject({
      identity_type: 'USER',
      membership_roles: ['DATABRICKS_SUPERUSER'],
      attributes: { createdb: true, createrole: true, bypassrls: true },
    });
    expect(byName.get('databricks_superuser')?.status).toMatchObject({ auth_method: 'NO_LOGIN' });
    expect(byName.get(lb.env.PGUSER)?.status).toMatchObject({
      identity_type: 'SERVICE_PRINCIPAL',
      auth_method: 'LAKEBASE_OAUTH_V1',
    });
    const first = (await (
      await rolesApi(lb, lb.projectOwner, 'GET', '/roles?page_size=2')
    ).json()) as {
      roles: Role[];
      next_page_token: string;
    };
    expect(first.roles).toHaveLength(2);
    const second = (await (
      await rolesApi(
        lb,
        lb.projectOwner,
        'GET',
        `/roles?page_size=2&page_token=${first.next_page_token}`,
      )
    ).json()) as { roles: Role[] };
    expect(second.roles[0]!.role_id > first.roles[1]!.role_id).toBe(true);
    const one = await rolesApi(lb, lb.projectOwner, 'GET', `/roles/${first.roles[0]!.role_id}`);
    expect(((await one.json()) as Role).name).toBe(first.roles[0]!.name);
  });

  it('create with role_id, attributes, GROUP and NO_LOGIN; delete with reassign_owned_to', async () => {
    const create = (body: unknown, query = '') =>
      rolesApi(lb, lb.projectOwner, 'POST', `/roles${query}`, body);
    const group = await create(
      { spec: { identity_type: 'GROUP', postgres_role: 'data-team' } },
      '?role_id=data-team',
    );
    expect(group.status).toBe(200);
    const ann = await connectAs(lb, 'data-team', lb.mintPgToken('ann@example.com').token);
    await ann.end();
    const owner = await create(
      {
        spec: {
          postgres_role: 'app_owner',
          auth_method: 'NO_LOGIN',
          attributes: { createdb: true },
        },
      },
      '?role_id=app-owner',
    );
    expect(owner.status).toBe(200);
    const [attrs] = await lb.sql(
      "select rolcanlogin, rolcreatedb from pg_roles where rolname = 'app_owner'",
    );
    expect(attrs).toEqual({ rolcanlogin: false, rolcreatedb: true });

    await lb.sql(
      'create table public.owned_by_app_owner (v int); alter table public.owned_by_app_owner owner to app_owner',
    );
    const refused = await rolesApi(lb, lb.projectOwner, 'DELETE', '/roles/app-owner');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toContain('reassign_owned_to');
    const deleted = await rolesApi(
      lb,
      lb.projectOwner,
      'DELETE',
      `/roles/app-owner?reassign_owned_to=${encodeURIComponent(lb.projectOwner)}`,
    );
    expect(deleted.status).toBe(200);
    expect(await lb.sql("select 1 from pg_roles where rolname = 'app_owner'")).toEqual([]);
    const [table] = await lb.sql(
      "select tableowner from pg_tables where tablename = 'owned_by_app_owner'",
    );
    expect(table.tableowner).toBe(lb.projectOwner);
    expect((await rolesApi(lb, lb.projectOwner, 'GET', '/roles/app-owner')).status).toBe(404);
  });

  it('who may call it: the owner yes, CAN_USE reads only, the SP and plain users get a 403 naming CAN_MANAGE', async () => {
    const body = { spec: { identity_type: 'USER', postgres_role: 'nobody@example.com' } };
    for (const caller of ['plain@example.com', 'viewer@example.com']) {
      const response = await rolesApi(lb, caller, 'POST', '/roles', body);
      expect(response.status).toBe(403);
      const error = (await response.json()) as { error_code: string; message: string };
      expect(error.error_code).toBe('PERMISSION_DENIED');
      expect(error.message).toContain(
        `'${caller}' does not have CAN_MANAGE permission on project 'projects/local'`,
      );
    }
    expect((await rolesApi(lb, 'viewer@example.com', 'GET', '/roles')).status).toBe(200);
    expect((await rolesApi(lb, 'plain@example.com', 'GET', '/roles')).status).toBe(403);
    // the app's SP, through the SDK's M2M OAuth
    const sp = new WorkspaceClient({
      host: lb.host,
      clientId: lb.env.DATABRICKS_CLIENT_ID,
      clientSecret: lb.env.DATABRICKS_CLIENT_SECRET,
      authType: 'oauth-m2m',
    });
    await expect(
      sp.apiClient.request({
        path: `/api/2.0/postgres/${lb.branch}/roles`,
        method: 'POST',
        headers: new Headers({ 'Content-Type': 'application/json' }),
        raw: false,
        payload: body,
      }),
    ).rejects.toMatchObject({
      statusCode: 403,
      errorCode: 'PERMISSION_DENIED',
      message: expect.stringContaining('CAN_MANAGE'),
    });
    expect(await lb.sql("select 1 from pg_roles where rolname = 'nobody@example.com'")).toEqual([]);
    expect((await fetch(`${lb.host}/api/2.0/postgres/${lb.branch}/roles`)).status).toBe(401);
  });

  it('bad requests get 400/404/409 naming what is wrong', async () => {
    const post = async (body: unknown, query = '') => {
      const response = await rolesApi(lb, lb.projectOwner, 'POST', `/roles${query}`, body);
      return {
        status: response.status,
        ...((await response.json()) as { error_code: string; message: string }),
      };
    };
    expect(await post({})).toMatchObject({
      status: 400,
      message: expect.stringContaining("'spec' is required"),
    });
    expect(await post({ spec: { identity_type: 'ROBOT', postgres_role: 'x@y.z' } })).toMatchObject({
      status: 400,
      message: expect.stringContaining(
        'spec.identity_type must be one of USER, SERVICE_PRINCIPAL, GROUP',
      ),
    });
    expect(
      await post({ spec: { identity_type: 'USER', postgres_role: 'x@y.z' } }, '?role_id=Bad_Id'),
    ).toMatchObject({
      status: 400,
      message: expect.stringContaining('4-63 lowercase letters'),
    });
    expect(
      await post({ spec: { identity_type: 'GROUP', postgres_role: 'no-such-group' } }),
    ).toMatchObject({
      status: 400,
      message: expect.stringContaining("group 'no-such-group' does not exist"),
    });
    expect(await post({ spec: { postgres_role: 'native' } })).toMatchObject({
      status: 400,
      message: expect.stringContaining('not emulated'),
    });
    expect(
      await post({ spec: { identity_type: 'USER', postgres_role: lb.projectOwner } }),
    ).toMatchObject({
      status: 409,
      error_code: 'ALREADY_EXISTS',
    });
    expect(await post('{not json')).toMatchObject({ status: 400, error_code: 'MALFORMED_REQUEST' });
    const patch = await rolesApi(
      lb,
      lb.projectOwner,
      'PATCH',
      `/roles/${'user-example-com'}?update_mask=spec.postgres_role`,
      {
        spec: { postgres_role: 'renamed' },
      },
    );
    expect(patch.status).toBe(400);
    const other = await fetch(`${lb.host}/api/2.0/postgres/projects/other/branches/main/roles`, {
      headers: { authorization: `Bearer ${lb.userToken(lb.projectOwner)}` },
    });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { message: string }).message).toContain(
      "Branch 'projects/other/branches/main' does not exist",
    );
  });
});
