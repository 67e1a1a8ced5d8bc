/**
 * `runDoctor()`: what stands between an app and a working, safe Lakebase, as a list of checks
 * `{ id, status: 'ok' | 'warn' | 'error', finding, fix }`:
 *
 * - `config`: options + environment resolve (endpoint, host, database, ...);
 * - `credentials`: a Lakebase token can be minted for the app's identity;
 * - `login`: the app's identity logs in;
 * - `tls`: the connection is encrypted (off on a loopback host is a warning);
 * - `ownership`: objects the app uses that its identity does not own (the deploy-first trap);
 * - `rls-policies`: tables with policies but row-level security off;
 * - `rls-public`: tables readable by PUBLIC without row-level security (warning);
 * - `obo-bypass-rls`: roles of on-behalf-of requests that bypass RLS (`databricks_superuser`,
 *   BYPASSRLS, superuser);
 * - `user-roles`: identities seen by `asUser` that have no Postgres role;
 * - `set-role`: whether the app's identity may `SET ROLE` to each of them (`userPools.mode`
 *   'set-role' needs it for all: an error there; 'auto' logs the others in: a warning).
 *
 * `error` is what breaks the app or its security; `warn` the rest. It never throws, and no
 * finding ever holds a token.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import pg from 'pg';
import { branchOf } from '../base/endpoint-path.js';
import { CredentialError, LakebaseError, redactSecrets } from '../base/errors.js';
import { createRoleCommands } from '../base/role-name.js';
import { shellWord } from '../base/shell-word.js';
import type { LakebasePoolConfig, Queryable } from '../base/types.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve-config.js';
import { tlsSettings, weakerWarning } from '../config/tls.js';
import { isLoopbackHost } from '../config/workspace-host.js';
import { generateDatabaseCredential } from '../pool/credentials.js';
import { createWorkspaceClient } from '../pool/service-principal.js';
import { missingRoles } from './role-lookup.js';

export type DoctorStatus = 'ok' | 'warn' | 'error';

export interface DoctorCheck {
  id: string;
  status: DoctorStatus;
  /** One line: what was found. */
  finding: string;
  /** What to do about it (for `ok`, nothing to do). */
  fix: string;
  /** The objects or roles the finding is about. */
  subjects?: string[];
}

export interface DoctorReport {
  /** False when any check is an `error`. */
  ok: boolean;
  errors: number;
  warnings: number;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** The app's connection (its service principal): a `Lakebase`, a `pg.Pool` or a client. */
  db: Queryable;
  /** The options the app's pool was made with (for `config`, `credentials` and `tls`). */
  config?: Partial<LakebasePoolConfig>;
  /** Environment the config is read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Mint a token for the `credentials` check (default true; else a failed login tells). */
  mint?: boolean;
  /** Identities seen by `asUser(req)`: checked for a role, and for bypassing RLS. */
  identities?: readonly string[];
  /** Schemas the app uses (default: every schema but the system ones and an empty `public`). */
  schemas?: readonly string[];
  /** The role that must own the app's objects (default: the role `db` logs in as). */
  appRole?: string;
  /** The workspace client for minting (default: the config's). */
  workspaceClient?: WorkspaceClient;
  /** How `asUser(req)` reaches Postgres (`userPools.mode`, default `login`): for `set-role`. */
  mode?: 'login' | 'set-role' | 'auto';
}

const OK_FIX = '';

const message = (error: unknown) =>
  error instanceof LakebaseError
    ? error.message
    : redactSecrets(error instanceof Error ? error.message : String(error), 400);

function summarize(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** `schema.relation`, each part quoted as an identifier. */
function qualified(schema: string, relation: string): string {
  return `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(relation)}`;
}

/** `--schema=<name>` for pg_dump, as one shell word (its pattern quoted when it must be). */
function dumpSchemaFlag(schema: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(schema)
    ? `--schema=${schema}`
    : shellWord(`--schema=${pg.escapeIdentifier(schema)}`);
}

/** Runs every check; see the file comment. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const env = options.env ?? process.env;

  let config: ResolvedConfig | undefined;
  try {
    config = resolveConfig({ telemetry: false, ...options.config }, env);
    checks.push({
      id: 'config',
      status: 'ok',
      finding:
        `endpoint ${config.endpoint ?? '(native password)'}, ${config.host}:${config.port}, ` +
        `database ${config.database}, user ${config.user ?? '(from the workspace identity)'}`,
      fix: OK_FIX,
    });
  } catch (error) {
    const names = error as { option?: string; envVar?: string };
    checks.push({
      id: 'config',
      status: 'error',
      finding: message(error),
      fix: `Set ${names.envVar ? `env ${names.envVar}` : 'the option'}${names.option ? ` (option "${names.option}")` : ''}; a Databricks App gets PGHOST, PGDATABASE, PGUSER and PGSSLMODE from its postgres resource, and LAKEBASE_ENDPOINT from \`valueFrom: postgres\` in app.yaml.`,
    });
  }

  let credentials: DoctorCheck | undefined;
  if (config?.endpoint && options.mint !== false) {
    credentials = await credentialCheck(config, options.workspaceClient);
    checks.push(credentials);
  }

  const login = await loginCheck(options.db);
  checks.push(login.check);
  if (login.credentialError && !credentials) {
    checks.push(credentialFailure(login.credentialError));
  }
  if (config) checks.push(tlsCheck(config));

  if (login.role) {
    const appRole = options.appRole ?? login.role;
    const guarded = async (id: string, run: () => Promise<DoctorCheck>) => {
      try {
        checks.push(await run());
      } catch (error) {
        checks.push({
          id,
          status: 'error',
          finding: `could not run the check: ${message(error)}`,
          fix: 'Check that the app can read the system catalogs (pg_catalog).',
        });
      }
    };
    const schemas = await appSchemas(options.db, options.schemas).catch(() => [] as string[]);
    const branch = config?.endpoint ? branchOf(config.endpoint) : undefined;
    await guarded('ownership', () => ownershipCheck(options.db, schemas, appRole));
    await guarded('rls-policies', () => policiesCheck(options.db, schemas));
    await guarded('rls-public', () => publicReadCheck(options.db, schemas));
    await guarded('obo-bypass-rls', () =>
      bypassCheck(options.db, schemas, appRole, options.identities ?? []),
    );
    await guarded('user-roles', () => userRolesCheck(options.db, options.identities, branch));
    await guarded('set-role', () =>
      setRoleCheck(options.db, options.identities ?? [], options.mode ?? 'login', login.role!),
    );
  }

  const errors = checks.filter((check) => check.status === 'error').length;
  const warnings = checks.filter((check) => check.status === 'warn').length;
  return { ok: errors === 0, errors, warnings, checks };
}

async function credentialCheck(
  config: ResolvedConfig,
  workspaceClient: WorkspaceClient | undefined,
): Promise<DoctorCheck> {
  try {
    const credential = await generateDatabaseCredential(
      workspaceClient ?? config.workspaceClient ?? createWorkspaceClient(config.env),
      { endpoint: config.endpoint! },
      { timeoutMs: config.credentialTimeoutMs },
    );
    return {
      id: 'credentials',
      status: 'ok',
      finding: `minted a Lakebase token for endpoint ${config.endpoint} (valid until ${credential.expire_time})`,
      fix: OK_FIX,
    };
  } catch (error) {
    return credentialFailure(error);
  }
}

function credentialFailure(error: unknown): DoctorCheck {
  const status = error instanceof CredentialError ? error.apiStatus : undefined;
  const fix =
    status === 401
      ? 'Check the Databricks credentials: DATABRICKS_HOST and DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET (a Databricks App sets them for its service principal), or DATABRICKS_TOKEN / a profile for a developer.'
      : status === 403
        ? "The identity may not use this endpoint: add the Lakebase database as a resource of the app (it grants the app's service principal CAN_CONNECT_AND_CREATE), or give your user access to the project."
        : status === 404
          ? 'LAKEBASE_ENDPOINT names an endpoint that does not exist: copy it from the branch page (projects/<project>/branches/<branch>/endpoints/<endpoint>).'
          : 'Check that DATABRICKS_HOST is reachable and try again; the token cache retries transient failures by itself.';
  return { id: 'credentials', status: 'error', finding: message(error), fix };
}

async function loginCheck(
  db: Queryable,
): Promise<{ check: DoctorCheck; role?: string; credentialError?: unknown }> {
  try {
    const { rows } = await db.query('select current_user as role, current_database() as db');
    return {
      role: rows[0].role,
      check: {
        id: 'login',
        status: 'ok',
        finding: `logged in as ${rows[0].role} to database ${rows[0].db}`,
        fix: OK_FIX,
      },
    };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const fix =
      code === '28P01' || code === '28000'
        ? "The token was rejected or the identity has no Postgres role: the app's service principal gets one when the database is added as an app resource; for another identity, create it (`lakebase-kit roles add <identity>`)."
        : error instanceof CredentialError
          ? 'No token could be minted: see the credentials check.'
          : 'Check PGHOST/PGPORT and that the endpoint is running (it wakes from scale-to-zero on connect).';
    return {
      credentialError: error instanceof CredentialError ? error : undefined,
      check: { id: 'login', status: 'error', finding: `login failed: ${message(error)}`, fix },
    };
  }
}

function tlsCheck(config: ResolvedConfig): DoctorCheck {
  let settings: ReturnType<typeof tlsSettings>;
  try {
    settings = tlsSettings(config);
  } catch (error) {
    return {
      id: 'tls',
      status: 'error',
      finding: message(error),
      fix: 'Point PGSSLROOTCERT (option "sslRootCert") at a readable PEM file, or unset it.',
    };
  }
  const loopback = isLoopbackHost(config.host);
  const weaker = weakerWarning(config, settings.strength);
  if (settings.strength === 'off') {
    return {
      id: 'tls',
      status: loopback ? 'warn' : 'error',
      finding: `${weaker} (${loopback ? 'loopback ' : ''}host ${config.host})`,
      fix: loopback
        ? 'Lakebase only accepts TLS: test with it on too (startLocalLakebase() speaks TLS; PGSSLMODE=require with its PGSSLROOTCERT).'
        : 'Set PGSSLMODE=require (the default, which verifies the server): Lakebase only accepts TLS, and tokens must never cross the network in clear text.',
    };
  }
  if (weaker) {
    return {
      id: 'tls',
      status: 'warn',
      finding: weaker,
      fix: "Use sslmode=require or verify-full (the default, require, verifies the certificate and the host name against Node's CA store; PGSSLROOTCERT adds a CA).",
    };
  }
  return {
    id: 'tls',
    status: 'ok',
    finding: `TLS on (${config.ssl !== undefined ? 'pg "ssl" option' : `sslmode=${config.sslMode}`}, server certificate and host name verified)`,
    fix: OK_FIX,
  };
}

/** The schemas the app uses: the given ones, else every user schema (an empty `public` aside). */
async function appSchemas(db: Queryable, given?: readonly string[]): Promise<string[]> {
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

async function ownershipCheck(
  db: Queryable,
  schemas: string[],
  appRole: string,
): Promise<DoctorCheck> {
  const { rows } = await db.query(
    `select 'schema' as kind, n.nspname as name, n.nspowner::regrole::text as owner, n.nspname as schema
       from pg_catalog.pg_namespace n
      where n.nspname = any($1::text[]) and n.nspowner <> $2::regrole
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
  return {
    id: 'ownership',
    status: 'error',
    finding: `${rows.length} object(s) the app uses are not owned by ${appRole}: ${summarize(subjects)}`,
    fix:
      `The deployed app will get "permission denied" (the deploy-first trap). Export the data ` +
      `(pg_dump ${dumpSchemaFlag(foreignSchemas[0] as string)}, or copy it to a temporary schema), ` +
      `DROP SCHEMA ${foreignSchemas.map((schema) => pg.escapeIdentifier(schema)).join(', ')} CASCADE, and redeploy: the service principal ` +
      'recreates them on startup. Ownership cannot be reassigned by regular users (a role that is ' +
      `a member of both, such as the project owner, may ALTER ... OWNER TO ${pg.escapeIdentifier(appRole)}).`,
    subjects,
  };
}

async function policiesCheck(db: Queryable, schemas: string[]): Promise<DoctorCheck> {
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

async function publicReadCheck(db: Queryable, schemas: string[]): Promise<DoctorCheck> {
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

async function bypassCheck(
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

async function userRolesCheck(
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
async function setRoleCheck(
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
