/**
 * Provisioning of Postgres roles and grants for Databricks identities: `addRole`, `listRoles`
 * and `grantSchemaAccess` (the seed's fine-grained grants, idempotent). Roles go through the
 * Lakebase roles API when the caller may use it (CAN_MANAGE on the project), else through
 * `databricks_create_role()` in SQL (needs CREATEROLE). A failure names every permission that
 * is missing. SQL runs on `db` as the caller: a `Lakebase`, a `pg.Pool` or a client.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import pg from 'pg';
import { ValidationError } from '../base/errors.js';
import {
  EMAIL_PATTERN,
  type IdentityType,
  inferIdentityType,
  roleNameProblem,
  UUID_PATTERN,
} from '../base/role-name.js';
import type { Queryable } from '../base/types.js';
import { PermissionDeniedError, RolesApiError } from './api-errors.js';
import { roleExists } from './role-lookup.js';
import { type LakebaseRole, LakebaseRolesApi } from './roles-api.js';

export interface ProvisioningTarget {
  /** A connection as the caller (used for SQL, and as the fallback of the roles API). */
  db: Queryable;
  /** The caller's workspace client; without it (or a branch), only SQL is used. */
  workspaceClient?: WorkspaceClient;
  /** The branch, or an endpoint of it (`LAKEBASE_ENDPOINT`). */
  branch?: string;
}

/** One Postgres role, as `listRoles` reports it. */
export interface RoleSummary {
  postgresRole: string;
  /** The roles API's id (only when listed through the API). */
  roleId?: string;
  identityType?: IdentityType;
  canLogin: boolean;
  /** Member of `databricks_superuser` (reads and writes every table). */
  superuser: boolean;
  createdb: boolean;
  createrole: boolean;
  bypassrls: boolean;
}

export type ProvisioningPath = 'roles-api' | 'sql';

export interface AddRoleResult {
  role: string;
  via: ProvisioningPath;
  /** False when the role existed already. */
  created: boolean;
  /** True when `superuser` made an existing role a member of `databricks_superuser`. */
  updated: boolean;
}

const DATABRICKS_SUPERUSER = 'databricks_superuser';
const ident = (name: string) => pg.escapeIdentifier(name);
const TYPES: readonly IdentityType[] = ['USER', 'SERVICE_PRINCIPAL', 'GROUP'];

function identityTypeOf(identity: string, given: IdentityType | undefined): IdentityType {
  const problem =
    typeof identity !== 'string'
      ? 'it is not a string'
      : identity.trim() === ''
        ? 'it is empty'
        : roleNameProblem(identity);
  if (problem) {
    throw new ValidationError(`Invalid identity ${JSON.stringify(identity)}: ${problem}`, {
      option: 'identity',
    });
  }
  if (given !== undefined && !TYPES.includes(given)) {
    throw new ValidationError(
      `Invalid identity type "${String(given)}": expected USER, SERVICE_PRINCIPAL or GROUP`,
      { option: 'type' },
    );
  }
  const type = given ?? inferIdentityType(identity);
  if (!type) {
    throw new ValidationError(
      `Cannot tell what "${identity}" is: a user is an email, a service principal its ` +
        'application id (a UUID); for a workspace group pass type GROUP',
      { option: 'type' },
    );
  }
  if (type === 'USER' && !EMAIL_PATTERN.test(identity)) {
    throw new ValidationError(`A USER identity is the user's email, got "${identity}"`, {
      option: 'identity',
    });
  }
  if (type === 'SERVICE_PRINCIPAL' && !UUID_PATTERN.test(identity)) {
    throw new ValidationError(
      `A SERVICE_PRINCIPAL identity is its application id (a UUID), got "${identity}"`,
      { option: 'identity' },
    );
  }
  return type;
}

function rolesApiOf(target: ProvisioningTarget): LakebaseRolesApi | undefined {
  return target.workspaceClient && target.branch
    ? new LakebaseRolesApi(target.workspaceClient, target.branch)
    : undefined;
}

/** True for failures after which SQL is worth a try: no permission, or no roles API there. */
function fallsBack(error: unknown): boolean {
  return (
    error instanceof PermissionDeniedError ||
    (error instanceof RolesApiError && (error.apiStatus === 404 || error.apiStatus === 501))
  );
}

const pgCode = (error: unknown) => (error as { code?: string } | null)?.code;

async function currentUser(db: Queryable): Promise<string> {
  return (await db.query('select current_user as u')).rows[0].u as string;
}

/** Throws a PermissionDeniedError naming what the API and SQL paths each lacked. */
async function denied(
  db: Queryable,
  what: string,
  sqlMissing: string,
  apiError: unknown,
  cause: unknown,
): Promise<never> {
  const missing = apiError instanceof PermissionDeniedError ? [...apiError.missing] : [];
  missing.push(sqlMissing);
  const who = await currentUser(db).catch(() => 'the current role');
  const api =
    apiError instanceof PermissionDeniedError
      ? `the roles API needs ${apiError.missing.join(', ')}, and `
      : '';
  throw new PermissionDeniedError(
    `Cannot ${what}: ${api}in SQL it needs ${sqlMissing}, which ${who} lacks. Run it as the ` +
      'project owner, or as an identity with CAN_MANAGE on the project.',
    { missing, cause },
  );
}

/**
 * Creates the Postgres role of a Databricks identity (idempotent). With `superuser`, the role
 * is (made) a member of `databricks_superuser`; never give that to users of on-behalf-of
 * requests, it lets them read every row.
 */
export async function addRole(
  target: ProvisioningTarget,
  identity: string,
  options: { type?: IdentityType; superuser?: boolean } = {},
): Promise<AddRoleResult> {
  const type = identityTypeOf(identity, options.type);
  const superuser = options.superuser === true;
  const api = rolesApiOf(target);
  let apiError: unknown;
  if (api) {
    try {
      return await addThroughApi(api, identity, type, superuser);
    } catch (error) {
      if (!fallsBack(error)) throw error;
      apiError = error;
    }
  }
  return addThroughSql(target.db, identity, type, superuser, apiError);
}

async function addThroughApi(
  api: LakebaseRolesApi,
  identity: string,
  type: IdentityType,
  superuser: boolean,
): Promise<AddRoleResult> {
  try {
    await api.create({
      identity_type: type,
      postgres_role: identity,
      ...(superuser ? { membership_roles: ['DATABRICKS_SUPERUSER'] } : {}),
    });
    return { role: identity, via: 'roles-api', created: true, updated: false };
  } catch (error) {
    if (!(error instanceof RolesApiError && error.errorCode === 'ALREADY_EXISTS')) throw error;
  }
  const existing = (await api.list()).find((role) => postgresRoleOf(role) === identity);
  const member = (existing?.status?.membership_roles ?? []).includes('DATABRICKS_SUPERUSER');
  if (!existing || !superuser || member) {
    return { role: identity, via: 'roles-api', created: false, updated: false };
  }
  await api.update(
    existing.role_id ?? existing.name.split('/').at(-1)!,
    { membership_roles: ['DATABRICKS_SUPERUSER'] },
    ['spec.membership_roles'],
  );
  return { role: identity, via: 'roles-api', created: false, updated: true };
}

async function addThroughSql(
  db: Queryable,
  identity: string,
  type: IdentityType,
  superuser: boolean,
  apiError: unknown,
): Promise<AddRoleResult> {
  let created = false;
  if (!(await roleExists(db, identity))) {
    try {
      await db.query('create extension if not exists databricks_auth');
      await db.query('select databricks_create_role($1, $2)', [identity, type]);
      created = true;
    } catch (error) {
      if (pgCode(error) === '42501') {
        await denied(db, `create the Postgres role "${identity}"`, 'CREATEROLE', apiError, error);
      }
      if (pgCode(error) !== '42710') throw error; // created meanwhile by someone else
    }
  }
  let updated = false;
  if (superuser) {
    const { rows } = await db.query(
      `select pg_has_role($1, '${DATABRICKS_SUPERUSER}', 'MEMBER') as member`,
      [identity],
    );
    if (!rows[0].member) {
      try {
        await db.query(`grant ${DATABRICKS_SUPERUSER} to ${ident(identity)}`);
        updated = !created;
      } catch (error) {
        if (pgCode(error) !== '42501') throw error;
        await denied(
          db,
          `make "${identity}" a member of ${DATABRICKS_SUPERUSER}`,
          `ADMIN OPTION on ${DATABRICKS_SUPERUSER}`,
          apiError,
          error,
        );
      }
    }
  }
  return { role: identity, via: 'sql', created, updated };
}

function postgresRoleOf(role: LakebaseRole): string | undefined {
  return role.status?.postgres_role ?? role.spec?.postgres_role;
}

/** The roles of the branch: through the roles API when the caller may, else from `pg_roles`. */
export async function listRoles(
  target: ProvisioningTarget,
): Promise<{ roles: RoleSummary[]; via: ProvisioningPath }> {
  const api = rolesApiOf(target);
  if (api) {
    try {
      const roles = (await api.list()).flatMap((role): RoleSummary[] => {
        const name = postgresRoleOf(role);
        if (!name) return [];
        const status = role.status ?? role.spec ?? {};
        return [
          {
            postgresRole: name,
            roleId: role.role_id ?? role.name.split('/').at(-1),
            identityType: status.identity_type,
            canLogin: status.auth_method !== 'NO_LOGIN',
            superuser: (status.membership_roles ?? []).includes('DATABRICKS_SUPERUSER'),
            createdb: status.attributes?.createdb === true,
            createrole: status.attributes?.createrole === true,
            bypassrls: status.attributes?.bypassrls === true,
          },
        ];
      });
      return { roles, via: 'roles-api' };
    } catch (error) {
      if (!fallsBack(error)) throw error;
    }
  }
  const { rows } = await target.db.query(
    `select r.rolname, r.rolcanlogin, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls,
       exists (select 1 from pg_catalog.pg_auth_members m
               join pg_catalog.pg_roles s on s.oid = m.roleid
               where m.member = r.oid and s.rolname = '${DATABRICKS_SUPERUSER}') as superuser
     from pg_catalog.pg_roles r
     where r.rolname !~ '^pg_' and not r.rolsuper
     order by r.rolname`,
  );
  return {
    via: 'sql',
    roles: rows.map((row) => ({
      postgresRole: row.rolname,
      identityType: inferIdentityType(row.rolname),
      canLogin: row.rolcanlogin,
      superuser: row.superuser,
      createdb: row.rolcreatedb,
      createrole: row.rolcreaterole,
      bypassrls: row.rolbypassrls,
    })),
  };
}

/**
 * The objects of `schema` on which `role` still lacks one of the privileges `grantSchemaAccess`
 * grants (each privilege is checked alone: `has_*_privilege` with a list means "any of").
 */
async function lackingPrivileges(
  db: Queryable,
  role: string,
  schema: string,
  readOnly: boolean,
): Promise<string[]> {
  const lacks = (check: string, privileges: string) =>
    `exists (select 1 from unnest(${privileges}::text[]) p where not ${check}($1, o.oid, p))`;
  const { rows } = await db.query(
    `select 'schema ' || quote_ident(o.nspname) as object
       from pg_catalog.pg_namespace o
      where o.nspname = $2 and ${lacks('has_schema_privilege', '$3')}
     union all
     select 'table ' || quote_ident(n.nspname) || '.' || quote_ident(o.relname)
       from pg_catalog.pg_class o join pg_catalog.pg_namespace n on n.oid = o.relnamespace
      where n.nspname = $2
        and case when o.relkind in ('r', 'p', 'v', 'm', 'f')
                 then ${lacks('has_table_privilege', '$4')} end
     union all
     select 'sequence ' || quote_ident(n.nspname) || '.' || quote_ident(o.relname)
       from pg_catalog.pg_class o join pg_catalog.pg_namespace n on n.oid = o.relnamespace
      where n.nspname = $2 and not $5
        and case when o.relkind = 'S' then ${lacks('has_sequence_privilege', '$6')} end
     union all
     select 'routine ' || o.oid::regprocedure::text
       from pg_catalog.pg_proc o join pg_catalog.pg_namespace n on n.oid = o.pronamespace
      where n.nspname = $2 and not $5 and not has_function_privilege($1, o.oid, 'EXECUTE')
     order by 1`,
    [
      role,
      schema,
      readOnly ? ['USAGE'] : ['USAGE', 'CREATE'],
      readOnly
        ? ['SELECT']
        : ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'],
      readOnly,
      ['USAGE', 'SELECT', 'UPDATE'],
    ],
  );
  return rows.map((row: { object: string }) => row.object);
}

export interface GrantSchemaOptions {
  schema: string;
  /** USAGE on the schema and SELECT on its tables (now and later), instead of ALL. */
  readOnly?: boolean;
  /** The identity's type when its role has to be created (default: inferred). */
  type?: IdentityType;
}

export interface GrantSchemaResult {
  role: string;
  schema: string;
  /** Set when the role did not exist and was created first. */
  createdRole?: AddRoleResult;
  /** The statements that ran (in one transaction). */
  statements: string[];
}

/**
 * The seed's "SQL script for fine-grained grants" for one identity and schema, idempotent:
 * creates the role if needed (as `addRole`), then CONNECT on the database, ALL on the schema
 * and on its tables, sequences, functions and procedures, and default privileges for what is
 * created later. The seed's default privileges cover objects the caller creates; these also
 * cover the schema owner's (the app's SP), when the caller may act for it. `readOnly`: USAGE,
 * SELECT on tables, and the matching default privileges.
 */
export async function grantSchemaAccess(
  target: ProvisioningTarget,
  identity: string,
  options: GrantSchemaOptions,
): Promise<GrantSchemaResult> {
  const { db } = target;
  const schema = options.schema;
  if (typeof schema !== 'string' || schema === '') {
    throw new ValidationError('grantSchemaAccess needs option "schema"', { option: 'schema' });
  }
  const { rows } = await db.query(
    `select n.nspowner::regrole::text as owner,
       pg_has_role(current_user, n.nspowner, 'MEMBER') as acts_for_owner,
       current_user as caller, current_database() as database
     from pg_catalog.pg_namespace n where n.nspname = $1`,
    [schema],
  );
  const info = rows[0] as
    | { owner: string; acts_for_owner: boolean; caller: string; database: string }
    | undefined;
  if (!info) {
    throw new ValidationError(`Schema "${schema}" does not exist in this database`, {
      option: 'schema',
    });
  }
  let createdRole: AddRoleResult | undefined;
  if (!(await roleExists(db, identity))) {
    createdRole = await addRole(target, identity, { type: options.type });
  }
  const to = ident(identity);
  const s = ident(schema);
  // CONNECT only when the role lacks it (PUBLIC usually has it; only the database owner may grant).
  const connect = await db.query(
    "select has_database_privilege($1, current_database(), 'CONNECT') as ok",
    [identity],
  );
  const statements = connect.rows[0].ok
    ? []
    : [`GRANT CONNECT ON DATABASE ${ident(info.database)} TO ${to}`];
  // Default privileges for the caller's future objects (the seed's), and the owner's.
  const creators = [ident(info.caller)];
  if (info.acts_for_owner && info.owner !== ident(info.caller)) creators.push(info.owner);
  if (options.readOnly) {
    statements.push(
      `GRANT USAGE ON SCHEMA ${s} TO ${to}`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${to}`,
      ...creators.map(
        (creator) =>
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${creator} IN SCHEMA ${s} GRANT SELECT ON TABLES TO ${to}`,
      ),
    );
  } else {
    statements.push(
      `GRANT ALL ON SCHEMA ${s} TO ${to}`,
      ...['TABLES', 'SEQUENCES', 'FUNCTIONS', 'PROCEDURES'].map(
        (kind) => `GRANT ALL PRIVILEGES ON ALL ${kind} IN SCHEMA ${s} TO ${to}`,
      ),
      ...creators.flatMap((creator) =>
        ['TABLES', 'SEQUENCES', 'FUNCTIONS', 'ROUTINES'].map(
          (kind) =>
            `ALTER DEFAULT PRIVILEGES FOR ROLE ${creator} IN SCHEMA ${s} GRANT ALL ON ${kind} TO ${to}`,
        ),
      ),
    );
  }
  try {
    await db.query(statements.join(';\n'));
  } catch (error) {
    if (pgCode(error) !== '42501') throw error;
    const detail = (error as Error).message;
    const owner = info.acts_for_owner
      ? `${info.caller} may act for the schema's owner ${info.owner}, but not for every object in it`
      : `${info.caller} neither owns it nor acts for its owner ${info.owner}`;
    throw new PermissionDeniedError(
      `Cannot grant on schema "${schema}" to "${identity}" (${detail}): ${owner}. Run it as the ` +
        "owner of the schema and its objects (the app's service principal) or as the project owner.",
      {
        missing: [`ownership of schema ${schema} and its objects (or membership in their owners)`],
        cause: error,
      },
    );
  }
  const lacking = await lackingPrivileges(db, identity, schema, options.readOnly === true);
  if (lacking.length > 0) {
    // Postgres only warns ("no privileges were granted") when the caller holds some privilege
    // on an object but not the grant option.
    throw new PermissionDeniedError(
      `Granted only part of schema "${schema}" to "${identity}": ${info.caller} may not grant on ` +
        `${lacking.slice(0, 5).join(', ')}${lacking.length > 5 ? ` and ${lacking.length - 5} more` : ''}. ` +
        `Run it as the owner of the schema and its objects (${info.owner}) or as the project owner.`,
      { missing: lacking.map((object) => `grant option on ${object}`) },
    );
  }
  return { role: identity, schema, createdRole, statements };
}
