/** The doctor's checks of the roles on-behalf-of requests run as: `obo-bypass-rls`, `user-roles`, `set-role`. */
import pg from 'pg';
import { createRoleCommands } from '../base/role-name.js';
import type { Queryable } from '../base/types.js';
import { type DoctorCheck, OK_FIX, summarize } from './doctor-report.js';
import { missingRoles } from './role-lookup.js';

export async function bypassCheck(
  db: Queryable,
  schemas: string[],
  appRole: string,
  identities: readonly string[],
): Promise<DoctorCheck> {
  // Roles of OBO requests: the identities seen, and every login role that can reach the app's
  // tables — by a grant to it, to a role it belongs to, or to PUBLIC — but the app's own role,
  // the project owner (the database's owner) and the platform's roles (pg_*, databricks_*).
  const { rows } = await db.query(
    `with app_tables as (
       select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f')
     ),
     candidates as (
       select r.oid, r.rolname from pg_catalog.pg_roles r where r.rolname = any($2::text[])
       union
       select r.oid, r.rolname from pg_catalog.pg_roles r
        where r.rolcanlogin
          and r.rolname !~ '^(pg_|databricks_)' and r.oid <> 10 -- 10: the bootstrap superuser
          and r.oid <> (select d.datdba from pg_catalog.pg_database d where d.datname = current_database())
          and exists (select 1 from pg_catalog.pg_namespace n
                       where n.nspname = any($1::text[]) and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE'))
          and exists (select 1 from app_tables t
                       where pg_catalog.has_table_privilege(r.oid, t.oid, 'SELECT, INSERT, UPDATE, DELETE'))
     )
     select c.rolname, r.rolsuper, r.rolbypassrls,
       exists (select 1 from pg_catalog.pg_roles s where s.rolname = 'databricks_superuser'
               and pg_catalog.pg_has_role(c.oid, s.oid, 'MEMBER')) as superuser_member
       from candidates c join pg_catalog.pg_roles r on r.oid = c.oid
      where c.rolname <> $3
      order by 1`,
    [schemas, [...identities], appRole],
  );
  const bypassing = rows
    .map(
      (row: {
        rolname: string;
        rolsuper: boolean;
        rolbypassrls: boolean;
        superuser_member: boolean;
      }) => {
        const why = [
          row.rolsuper && 'a Postgres superuser',
          row.superuser_member && 'a member of databricks_superuser',
          row.rolbypassrls && 'BYPASSRLS',
        ].filter(Boolean);
        return why.length
          ? { role: row.rolname, text: `${row.rolname} (${why.join(', ')})` }
          : undefined;
      },
    )
    .filter((entry): entry is { role: string; text: string } => entry !== undefined);
  const bypassingRoles = bypassing.map((entry) => entry.role);
  if (bypassing.length === 0) {
    return {
      id: 'obo-bypass-rls',
      status: 'ok',
      finding: rows.length
        ? `none of the ${rows.length} role(s) of on-behalf-of requests bypasses row-level security`
        : 'no role of on-behalf-of requests to check yet',
      fix: OK_FIX,
    };
  }
  return {
    id: 'obo-bypass-rls',
    status: 'error',
    finding: `${bypassing.length} role(s) that can reach the app's tables on behalf of users bypass row-level security: ${summarize(bypassing.map((entry) => entry.text))}`,
    fix:
      'Never give OBO users databricks_superuser or BYPASSRLS: remove the membership ' +
      '(databricks postgres update-role <role> spec.membership_roles --json \'{"spec": {"membership_roles": []}}\', ' +
      `or ${bypassingRoles
        .slice(0, 3)
        .map(
          (role) =>
            `REVOKE databricks_superuser FROM ${pg.escapeIdentifier(role)}; ALTER ROLE ${pg.escapeIdentifier(role)} NOBYPASSRLS;`,
        )
        .join(
          ' ',
        )}) and grant what the app needs instead (lakebase-kit roles grant <identity> --schema <schema>).`,
    subjects: bypassing.map((entry) => entry.text),
  };
}

export async function userRolesCheck(
  db: Queryable,
  identities: readonly string[] | undefined,
  branch: string | undefined,
): Promise<DoctorCheck> {
  if (!identities || identities.length === 0) {
    return {
      id: 'user-roles',
      status: 'ok',
      finding: 'no identities seen to check',
      fix: OK_FIX,
    };
  }
  const missing = await missingRoles(db, identities);
  if (missing.length === 0) {
    return {
      id: 'user-roles',
      status: 'ok',
      finding: `all ${new Set(identities).size} identities seen have a Postgres role`,
      fix: OK_FIX,
    };
  }
  return {
    id: 'user-roles',
    status: 'error',
    finding: `${missing.length} identities seen have no Postgres role (their requests fail to log in): ${summarize(missing)}`,
    fix: missing
      .slice(0, 5)
      .map((identity) => createRoleCommands(identity, { branch }).kit)
      .join('; '),
    subjects: missing,
  };
}

/** Whether the app's identity may SET ROLE to each identity seen (that has a role). */
export async function setRoleCheck(
  db: Queryable,
  identities: readonly string[],
  mode: 'login' | 'set-role' | 'auto',
  appRole: string,
): Promise<DoctorCheck> {
  const seen = [...new Set(identities)];
  if (seen.length === 0) {
    return { id: 'set-role', status: 'ok', finding: 'no identities seen to check', fix: OK_FIX };
  }
  const { rows } = await db.query(
    `select r.rolname as role, pg_has_role(session_user, r.oid, 'SET') as can
       from pg_catalog.pg_roles r where r.rolname = any($1::text[]) order by r.rolname`,
    [seen],
  );
  const cannot = rows.filter((row) => row.can !== true).map((row) => String(row.role));
  const can = rows.length - cannot.length;
  const grant = (role: string) =>
    `GRANT ${pg.escapeIdentifier(role)} TO ${pg.escapeIdentifier(appRole)} WITH INHERIT FALSE, SET TRUE`;
  if (cannot.length === 0) {
    return {
      id: 'set-role',
      status: 'ok',
      finding: `${appRole} may SET ROLE to all ${can} user roles seen (userPools.mode 'set-role' works for them)`,
      fix: OK_FIX,
    };
  }
  const finding =
    `${appRole} may SET ROLE to ${can} of ${rows.length} user roles seen; not to ${summarize(cannot)}` +
    (mode === 'set-role'
      ? " (userPools.mode 'set-role': their requests fail)"
      : mode === 'auto'
        ? " (userPools.mode 'auto': they log in with their own tokens instead)"
        : ' (login mode does not need it)');
  return {
    id: 'set-role',
    status: mode === 'set-role' ? 'error' : mode === 'auto' ? 'warn' : 'ok',
    finding,
    fix:
      mode === 'login'
        ? OK_FIX
        : `As a project owner: ${cannot.slice(0, 3).map(grant).join('; ')} (SET, not INHERIT); or use userPools.mode 'login'.`,
    subjects: cannot,
  };
}
