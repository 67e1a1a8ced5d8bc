/**
 * The roles API's view of the Postgres roles of the branch: each non-system role as a Lakebase
 * `Role` resource. What Postgres knows (attributes, LOGIN, membership in
 * `databricks_superuser`, the identity comment) is the `status`; the role id and the last spec
 * given through the API are kept in `lakebase_local.roles` of the `postgres` database (never in
 * the app's database, where doctor and apps would see them).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { AuthMethod, IdentityType, RoleJson, RoleSpecJson } from '../base/role-types.js';
import type { Query } from './admin.js';
import { REPLICATION_ROLE } from './replication.js';
import { DATABRICKS_SUPERUSER } from './role-sql.js';

interface PgRoleRow {
  rolname: string;
  rolcanlogin: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolbypassrls: boolean;
  superuser_member: boolean;
  comment: string | null;
}

interface StoredRow {
  postgres_role: string;
  role_id: string;
  spec: RoleSpecJson;
  create_time: Date;
  update_time: Date;
}

/** `alice@example.com` → `alice-example-com` (padded to 4 characters, cut at 63). */
export function slugRoleId(postgresRole: string): string {
  let slug = postgresRole
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  if (slug.length < 4) slug = `role-${slug}`.replace(/-+$/, '');
  if (slug.length < 4) slug = `${slug}-x`.slice(0, 63);
  return slug;
}

function hashed(slug: string, postgresRole: string): string {
  const suffix = createHash('sha256').update(postgresRole).digest('hex').slice(0, 6);
  return `${slug.slice(0, 56).replace(/-+$/, '')}-${suffix}`;
}

function identityType(comment: string | null): IdentityType | undefined {
  const match = /^databricks_auth:(USER|SERVICE_PRINCIPAL|GROUP)$/.exec(comment ?? '');
  return match?.[1] as IdentityType | undefined;
}

const ROLES_SQL = `select r.rolname, r.rolcanlogin, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls,
    exists (select 1 from pg_auth_members m join pg_roles s on s.oid = m.roleid
            where m.member = r.oid and s.rolname = '${DATABRICKS_SUPERUSER}') as superuser_member,
    shobj_description(r.oid, 'pg_authid') as comment
  from pg_roles r
  where r.rolname !~ '^pg_' and r.rolname not in ('postgres', '${REPLICATION_ROLE}')
  order by r.rolname`;

export class RoleCatalog {
  readonly #branch: string;
  readonly #sql: Query;
  readonly #meta: Query;
  #ready: Promise<void> | undefined;

  /**
   * `sql`: superuser queries on the app's database; `meta`: on the `postgres` database (role
   * ids and specs).
   */
  constructor(branch: string, sql: Query, meta: Query) {
    this.#branch = branch;
    this.#sql = sql;
    this.#meta = meta;
  }

  #store(): Promise<void> {
    this.#ready ??= this.#meta(
      `create schema if not exists lakebase_local;
       create table if not exists lakebase_local.roles (
         postgres_role text primary key,
         role_id text unique not null,
         spec jsonb not null,
         create_time timestamptz not null default now(),
         update_time timestamptz not null default now())`,
    ).then(() => undefined);
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  /** Every role of the branch, by role id order. */
  async list(): Promise<RoleJson[]> {
    await this.#store();
    const [{ rows }, stored] = await Promise.all([
      this.#sql(ROLES_SQL) as Promise<pg.QueryResult<PgRoleRow>>,
      this.#meta('select * from lakebase_local.roles') as Promise<pg.QueryResult<StoredRow>>,
    ]);
    const byRole = new Map(stored.rows.map((row) => [row.postgres_role, row]));
    const taken = new Set(stored.rows.map((row) => row.role_id));
    const slugCount = new Map<string, number>();
    for (const row of rows) {
      if (byRole.has(row.rolname)) continue;
      const slug = slugRoleId(row.rolname);
      slugCount.set(slug, (slugCount.get(slug) ?? 0) + 1);
    }
    const roles = rows.map((row) => {
      const saved = byRole.get(row.rolname);
      let id = saved?.role_id;
      if (!id) {
        const slug = slugRoleId(row.rolname);
        id = (slugCount.get(slug) ?? 0) > 1 || taken.has(slug) ? hashed(slug, row.rolname) : slug;
      }
      return this.#toJson(row, id, saved);
    });
    return roles.sort((a, b) => a.role_id.localeCompare(b.role_id));
  }

  async get(roleId: string): Promise<RoleJson | undefined> {
    return (await this.list()).find((role) => role.role_id === roleId);
  }

  async byPostgresRole(name: string): Promise<RoleJson | undefined> {
    return (await this.list()).find((role) => role.status.postgres_role === name);
  }

  /** A role id for a new role: the slug of its name, made unique. */
  async newRoleId(postgresRole: string): Promise<string> {
    const taken = new Set((await this.list()).map((role) => role.role_id));
    const slug = slugRoleId(postgresRole);
    return taken.has(slug) ? hashed(slug, postgresRole) : slug;
  }

  async remember(postgresRole: string, roleId: string, spec: RoleSpecJson): Promise<void> {
    await this.#store();
    await this.#meta(
      `insert into lakebase_local.roles (postgres_role, role_id, spec) values ($1, $2, $3)
       on conflict (postgres_role) do update
         set role_id = excluded.role_id, spec = excluded.spec, update_time = now()`,
      [postgresRole, roleId, JSON.stringify(spec)],
    );
  }

  async forget(postgresRole: string): Promise<void> {
    await this.#store();
    await this.#meta('delete from lakebase_local.roles where postgres_role = $1', [postgresRole]);
  }

  #toJson(row: PgRoleRow, roleId: string, saved: StoredRow | undefined): RoleJson {
    const type = identityType(row.comment);
    const authMethod: AuthMethod = !row.rolcanlogin
      ? 'NO_LOGIN'
      : type
        ? 'LAKEBASE_OAUTH_V1'
        : 'PG_PASSWORD_SCRAM_SHA_256';
    return {
      name: `${this.#branch}/roles/${roleId}`,
      parent: this.#branch,
      role_id: roleId,
      ...(saved
        ? {
            create_time: saved.create_time.toISOString(),
            update_time: saved.update_time.toISOString(),
            spec: saved.spec,
          }
        : {}),
      status: {
        role_id: roleId,
        postgres_role: row.rolname,
        ...(type ? { identity_type: type } : {}),
        auth_method: authMethod,
        membership_roles: row.superuser_member ? ['DATABRICKS_SUPERUSER'] : [],
        attributes: {
          createdb: row.rolcreatedb,
          createrole: row.rolcreaterole,
          bypassrls: row.rolbypassrls,
        },
      },
    };
  }
}
