/**
 * runDoctor() on the local Lakebase (TLS on, as Lakebase): passes on a clean app schema, and
 * finds each planted problem — a schema owned by a developer, a user with databricks_superuser,
 * a policy with RLS disabled, a missing user role, a table readable by PUBLIC without RLS — and
 * broken config, credentials, login and TLS.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DoctorReport, runDoctor } from '../../src/admin/doctor.js';
import { LakebaseRolesApi } from '../../src/admin/roles-api.js';
import { type Actor, actAs } from '../support/perm-helpers.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;
let sp: Actor;
let owner: Actor;

beforeAll(async () => {
  lb = await startLocalLakebase({ tls: true, users: [ALICE] });
  sp = actAs(lb);
  owner = actAs(lb, lb.projectOwner);
  // the clean app: the SP owns its schema and table; RLS keeps users' rows apart
  await sp.lakebase.query(`create schema app;
    create table app.notes (id serial primary key, owner text not null default current_user, body text);
    alter table app.notes enable row level security;
    create policy notes_owner on app.notes using (owner = current_user);
    grant usage on schema app to public;
    grant select, insert on app.notes to public;
    grant usage on sequence app.notes_id_seq to public`);
});
afterAll(async () => {
  await lb?.stop();
});

const doctor = (options: Partial<Parameters<typeof runDoctor>[0]> = {}) =>
  runDoctor({ db: sp.lakebase, env: lb.env, ...options });

const pgIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

const check = (report: DoctorReport, id: string) => {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
};

describe('runDoctor', () => {
  it('passes on the clean app, every check ok', async () => {
    const report = await doctor({ identities: [ALICE] });
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['config', 'ok'],
      ['hosts', 'ok'],
      ['credentials', 'ok'],
      ['login', 'ok'],
      ['tls', 'ok'],
      ['ownership', 'ok'],
      ['rls-policies', 'ok'],
      ['rls-public', 'ok'],
      ['obo-bypass-rls', 'ok'],
      ['user-roles', 'ok'],
      ['set-role', 'ok'],
    ]);
    expect(report).toMatchObject({ ok: true, errors: 0, warnings: 0 });
    expect(check(report, 'login').finding).toBe(
      `logged in as ${lb.env.PGUSER} to database databricks_postgres`,
    );
    expect(check(report, 'ownership').finding).toBe(`${lb.env.PGUSER} owns every object in app`);
    expect(JSON.stringify(report)).not.toMatch(/lbk_/);
  });

  it('finds a schema owned by a developer (the deploy-first trap), with the seed’s recovery', async () => {
    await owner.lakebase.query('create schema devschema; create table devschema.items (v int)');
    await expect(sp.lakebase.query('select * from devschema.items')).rejects.toMatchObject({
      code: '42501',
    });
    const report = await doctor();
    const ownership = check(report, 'ownership');
    expect(ownership.status).toBe('error');
    expect(ownership.subjects).toEqual([
      `schema devschema (owner "${lb.projectOwner}")`,
      `table devschema.items (owner "${lb.projectOwner}")`,
    ]);
    expect(ownership.finding).toContain(`not owned by ${lb.env.PGUSER}`);
    expect(ownership.fix).toContain('pg_dump --schema=devschema');
    expect(ownership.fix).toContain('DROP SCHEMA "devschema" CASCADE, and redeploy');
    expect(report.ok).toBe(false);
    // the recovery: the schema is dropped, and the SP's startup recreates its own
    await owner.lakebase.query('drop schema devschema cascade');
    expect(check(await doctor(), 'ownership').status).toBe('ok');
  });

  it('never calls the shared public schema a trap: only the app tables in it, and never proposes dropping it', async () => {
    // AppKit's template: the SP creates its table in public (owned by pg_database_owner)
    await owner.lakebase.query(`grant create on schema public to "${lb.env.PGUSER}"`);
    await sp.lakebase.query('create table public.todos (id int)');
    try {
      expect(check(await doctor(), 'ownership').status).toBe('ok');
      await owner.lakebase.query('create table public.dev_notes (v int)');
      const ownership = check(await doctor(), 'ownership');
      expect(ownership.status).toBe('error');
      expect(ownership.subjects).toEqual([`table public.dev_notes (owner "${lb.projectOwner}")`]);
      expect(ownership.fix).toContain('drop public.dev_notes (not the public schema itself)');
      expect(ownership.fix).not.toMatch(/DROP SCHEMA/);
    } finally {
      await owner.lakebase.query('drop table if exists public.dev_notes');
      await sp.lakebase.query('drop table public.todos');
      await owner.lakebase.query(`revoke create on schema public from "${lb.env.PGUSER}"`);
    }
  });

  it('finds users of on-behalf-of requests with databricks_superuser or BYPASSRLS', async () => {
    const api = new LakebaseRolesApi(owner.target.workspaceClient!, lb.endpoint);
    const boss = await api.create({
      identity_type: 'USER',
      postgres_role: 'boss@example.com',
      membership_roles: ['DATABRICKS_SUPERUSER'],
    });
    const sneaky = await api.create({
      identity_type: 'USER',
      postgres_role: 'sneaky@example.com',
      attributes: { bypassrls: true },
    });
    const report = await doctor({ identities: [ALICE, 'boss@example.com', 'sneaky@example.com'] });
    const bypass = check(report, 'obo-bypass-rls');
    expect(bypass.status).toBe('error');
    expect(bypass.subjects).toEqual([
      'boss@example.com (a member of databricks_superuser)',
      'sneaky@example.com (BYPASSRLS)',
    ]);
    expect(bypass.fix).toContain('spec.membership_roles');
    expect(bypass.fix).toContain('REVOKE databricks_superuser FROM "boss@example.com";');
    // without being seen yet: every login role that can reach the app's tables counts, here
    // through the seed's own grants to PUBLIC — but not the project owner, nor alice
    const unseen = check(await doctor(), 'obo-bypass-rls');
    expect(unseen.status).toBe('error');
    expect(unseen.subjects).toEqual([
      'boss@example.com (a member of databricks_superuser)',
      'sneaky@example.com (BYPASSRLS)',
    ]);
    // with no grant to PUBLIC, a direct grant (or one through a role) is what counts
    await sp.lakebase.query(`revoke usage on schema app from public;
      grant usage on schema app to "boss@example.com"`);
    expect(check(await doctor(), 'obo-bypass-rls').subjects).toEqual([
      'boss@example.com (a member of databricks_superuser)',
    ]);
    await sp.lakebase.query(`revoke usage on schema app from "boss@example.com";
      grant usage on schema app to public`);
    for (const role of [sneaky, boss]) await api.delete(role.name.split('/').at(-1)!);
    expect(check(await doctor(), 'obo-bypass-rls').status).toBe('ok');
  });

  it('quotes every identifier in the SQL it proposes: a hostile table name stays a name', async () => {
    const hostile = `x; grant "${lb.projectOwner}" to "${ALICE}"; --`;
    await sp.lakebase.query(`create table app.${pgIdent(hostile)} (owner text);
      create policy p on app.${pgIdent(hostile)} using (owner = current_user)`);
    const fix = check(await doctor(), 'rls-policies').fix;
    expect(fix).toBe(`ALTER TABLE "app".${pgIdent(hostile)} ENABLE ROW LEVEL SECURITY;`);
    await owner.lakebase.query(fix); // runs as printed: one statement, on that table
    const after = await sp.lakebase.query(
      `select c.relrowsecurity as rls, pg_has_role($2, $1, 'MEMBER') as granted
         from pg_class c where c.relname = $3`,
      [lb.projectOwner, ALICE, hostile],
    );
    expect(after.rows).toEqual([{ rls: true, granted: false }]);
    await sp.lakebase.query(`drop table app.${pgIdent(hostile)}`);
  });

  it('finds a table with policies but RLS disabled, and one readable by PUBLIC without RLS', async () => {
    await sp.lakebase.query(`create table app.loose (owner text);
      create policy loose_owner on app.loose using (owner = current_user);
      create table app.open (v int);
      grant select on app.open to public`);
    const report = await doctor();
    expect(check(report, 'rls-policies')).toMatchObject({
      status: 'error',
      subjects: ['app.loose'],
      fix: 'ALTER TABLE "app"."loose" ENABLE ROW LEVEL SECURITY;',
    });
    expect(check(report, 'rls-public')).toMatchObject({ status: 'warn', subjects: ['app.open'] });
    await sp.lakebase.query('drop table app.loose, app.open');
  });

  it('finds identities seen without a Postgres role, naming the command that creates it', async () => {
    const report = await doctor({ identities: [ALICE, 'ghost@example.com', 'ghost@example.com'] });
    expect(check(report, 'user-roles')).toMatchObject({
      status: 'error',
      subjects: ['ghost@example.com'],
      fix: 'lakebase-kit roles add ghost@example.com',
    });
  });

  it('lakebase.doctor() checks the identities asUser(req) has seen', async () => {
    const ghost = 'ghost@example.com';
    const headers = { 'x-forwarded-access-token': lb.userToken(ghost), 'x-forwarded-email': ghost };
    await sp.lakebase
      .asUser(headers)
      .query('select 1')
      .catch(() => undefined); // 403: no role
    await sp.lakebase.asUser(await lb.userHeaders(ALICE)).query('select 1');
    const report = await sp.lakebase.doctor();
    expect(check(report, 'user-roles')).toMatchObject({ status: 'error', subjects: [ghost] });
    expect(check(report, 'login').status).toBe('ok');
  });

  it('names broken config, credentials, login and TLS', async () => {
    const { PGHOST: _host, ...noHost } = lb.env;
    const config = check(await doctor({ env: noHost }), 'config');
    expect(config).toMatchObject({ status: 'error' });
    expect(config.finding).toContain('PGHOST');
    expect(config.fix).toContain('env PGHOST');

    const credentials = check(
      await doctor({ config: { endpoint: 'projects/local/branches/main/endpoints/other' } }),
      'credentials',
    );
    expect(credentials.status).toBe('error');
    expect(credentials.finding).toContain('HTTP 404');
    expect(credentials.fix).toContain('LAKEBASE_ENDPOINT');

    const ghost = actAs(lb, 'ghost@example.com');
    const report = await runDoctor({ db: ghost.lakebase, env: ghost.env });
    expect(check(report, 'login')).toMatchObject({ status: 'error' });
    expect(check(report, 'login').fix).toContain('lakebase-kit roles add');
    expect(report.checks.map((c) => c.id)).not.toContain('ownership'); // no login, no catalog checks

    const loopback = check(await doctor({ config: { sslMode: 'disable' } }), 'tls');
    expect(loopback).toMatchObject({ status: 'warn' });
    const remote = check(
      await doctor({ config: { sslMode: 'disable', host: 'db.example.com' } }),
      'tls',
    );
    expect(remote).toMatchObject({ status: 'error' });
  });
});
