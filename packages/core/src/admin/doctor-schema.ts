/** The doctor's checks of the app's schemas: `ownership`, `rls-policies` and `rls-public`. */
import pg from 'pg';
import type { Queryable } from '../base/types.js';
import { type DoctorCheck, dumpSchemaFlag, OK_FIX, qualified, summarize } from './doctor-report.js';

/** The schemas the app uses: the given ones, else every user schema (an empty `public` aside). */
export async function appSchemas(db: Queryable, given?: readonly string[]): Promise<string[]> {
  if (given && given.length > 0) return [...new Set(given)];
  const { rows } = await db.query(
    `select n.nspname from pg_catalog.pg_namespace n
     where n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
       and not exists (select 1 from pg_catalog.pg_depend d
                       where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e')
       and (n.nspname <> 'public' or exists (select 1 from pg_catalog.pg_class c where c.relnamespace = n.oid))
     order by 1`,
  );
  return rows.map((row: { nspname: string }) => row.nspname);
}

const KIND: Record<string, string> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized view',
  S: 'sequence',
  f: 'foreign table',
};

export async function ownershipCheck(
  db: Queryable,
  schemas: string[],
  appRole: string,
): Promise<DoctorCheck> {
  const { rows } = await db.query(
    `select 'schema' as kind, n.nspname as name, n.nspowner::regrole::text as owner, n.nspname as schema
       from pg_catalog.pg_namespace n
      where n.nspname = any($1::text[]) and n.nspowner <> $2::regrole
        -- public belongs to pg_database_owner since Postgres 15: the app creates in it, not owns it
        and not (n.nspname = 'public' and n.nspowner = 'pg_database_owner'::regrole)
     union all
     select c.relkind::text, n.nspname || '.' || c.relname, c.relowner::regrole::text, n.nspname
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
        and c.relowner <> $2::regrole
        and not exists (select 1 from pg_catalog.pg_depend d
                        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
     order by 4, 1 desc, 2`,
    [schemas, pg.escapeIdentifier(appRole)],
  );
  if (rows.length === 0) {
    return {
      id: 'ownership',
      status: 'ok',
      finding: schemas.length
        ? `${appRole} owns every object in ${summarize(schemas)}`
        : 'the app has no schema of its own yet',
      fix: OK_FIX,
    };
  }
  const subjects = rows.map(
    (row: { kind: string; name: string; owner: string }) =>
      `${KIND[row.kind] ?? row.kind} ${row.name} (owner ${row.owner})`,
  );
  const foreignSchemas = [
    ...new Set(rows.map((row: { schema: string }) => row.schema)),
  ] as string[];
  // the shared public schema is never dropped: only the app's objects in it are recreated
  const dropSchemas = foreignSchemas.filter((schema) => schema !== 'public');
  const publicObjects = rows
    .filter(
      (row: { schema: string; kind: string }) => row.schema === 'public' && row.kind !== 'schema',
    )
    .map((row: { name: string }) => row.name) as string[];
  const drops = [
    dropSchemas.length
      ? `DROP SCHEMA ${dropSchemas.map((schema) => pg.escapeIdentifier(schema)).join(', ')} CASCADE`
      : undefined,
    publicObjects.length
      ? `drop ${summarize(publicObjects)} (not the public schema itself)`
      : undefined,
  ].filter(Boolean);
  return {
    id: 'ownership',
    status: 'error',
    finding: `${rows.length} object(s) the app uses are not owned by ${appRole}: ${summarize(subjects)}`,
    fix:
      `The deployed app will get "permission denied" (the deploy-first trap). Export the data ` +
      `(pg_dump ${dumpSchemaFlag(foreignSchemas[0] as string)}, or copy it to a temporary schema), ` +
      `${drops.join(', and ')}, and redeploy: the service principal ` +
      'recreates them on startup. Ownership cannot be reassigned by regular users (a role that is ' +
      `a member of both, such as the project owner, may ALTER ... OWNER TO ${pg.escapeIdentifier(appRole)}).`,
    subjects,
  };
}

export async function policiesCheck(db: Queryable, schemas: string[]): Promise<DoctorCheck> {
  const { rows } = await db.query(
    `select n.nspname || '.' || c.relname as name, n.nspname as schema, c.relname as relation,
            count(p.*)::int as policies
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_policy p on p.polrelid = c.oid
      where n.nspname = any($1::text[]) and not c.relrowsecurity
      group by 1, 2, 3 order by 1`,
    [schemas],
  );
  if (rows.length === 0) {
    return {
      id: 'rls-policies',
      status: 'ok',
      finding: 'every table with policies has row-level security on',
      fix: OK_FIX,
    };
  }
  const names = rows.map((row: { name: string }) => row.name) as string[];
  return {
    id: 'rls-policies',
    status: 'error',
    finding: `${names.length} table(s) have policies but row-level security off, so the policies do nothing: ${summarize(names)}`,
    fix: rows
      .map(
        (row: { schema: string; relation: string }) =>
          `ALTER TABLE ${qualified(row.schema, row.relation)} ENABLE ROW LEVEL SECURITY;`,
      )
      .join(' '),
    subjects: names,
  };
}

export async function publicReadCheck(db: Queryable, schemas: string[]): Promise<DoctorCheck> {
  const { rows } = await db.query(
    `select n.nspname || '.' || c.relname as name
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f')
        and not c.relrowsecurity
        and exists (select 1 from aclexplode(c.relacl) a where a.grantee = 0 and a.privilege_type = 'SELECT')
        and exists (select 1 from aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                    where a.grantee = 0 and a.privilege_type = 'USAGE')
      order by 1`,
    [schemas],
  );
  if (rows.length === 0) {
    return {
      id: 'rls-public',
      status: 'ok',
      finding: 'no table is readable by PUBLIC without row-level security',
      fix: OK_FIX,
    };
  }
  const names = rows.map((row: { name: string }) => row.name) as string[];
  return {
    id: 'rls-public',
    status: 'warn',
    finding: `${names.length} table(s) are readable by every role (PUBLIC) without row-level security: ${summarize(names)}`,
    fix: 'If rows belong to users, ENABLE ROW LEVEL SECURITY with a policy (owner = current_user); else REVOKE SELECT ... FROM PUBLIC and grant it per role (lakebase-kit roles grant <identity> --schema <schema> --read-only).',
    subjects: names,
  };
}
