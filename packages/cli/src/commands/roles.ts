/**
 * `lakebase-kit roles add|list|grant`: Postgres roles and grants for Databricks identities,
 * as the current identity. Roles go through the Lakebase roles API when the identity may use it
 * (CAN_MANAGE on the project: the project owner), else through `databricks_create_role()` in
 * SQL (a role with CREATEROLE); a refusal names every permission that is missing.
 */
import { parseArgs } from 'node:util';
import {
  addRole,
  grantSchemaAccess,
  type IdentityType,
  listRoles,
  type RoleSummary,
} from '@lakebase-kit/core/admin';
import { type Command, type CommandIO, UsageError } from './command.js';
import { TARGET_FLAGS, TARGET_HELP } from './env.js';
import { openSession } from './lakebase-session.js';
import { fail } from './token.js';

export const ROLES_HELP = `Usage: lakebase-kit roles <add|list|grant> [options]

  roles add <identity> [--type USER|SERVICE_PRINCIPAL|GROUP] [--superuser]
      Creates the Postgres role of a Databricks identity (a user's email, a service
      principal's application id, a workspace group's name), which then logs in with that
      identity's OAuth tokens. Idempotent. --superuser makes it a member of
      databricks_superuser (reads and writes every table, bypasses RLS): for developers, never
      for users of on-behalf-of requests.
  roles list [--json]
      The roles of the branch.
  roles grant <identity> --schema <schema> [--read-only] [--type ...]
      The guide's fine-grained grants, idempotent: creates the role if needed, then CONNECT,
      ALL on the schema and on its tables, sequences, functions and procedures, and default
      privileges for what is created later (by you and by the schema's owner). --read-only:
      USAGE and SELECT, and SELECT on future tables.

Runs as the current Databricks identity: roles need CAN_MANAGE on the project (the roles
API; the project owner has it) or the CREATEROLE attribute (SQL); grants need to own the
schema and its objects (the app's service principal) or to act for their owner (the
project owner).

Options:
  --type <type>       USER, SERVICE_PRINCIPAL or GROUP (default: from the identity's form)
  --superuser         (add) member of databricks_superuser
  --schema <schema>   (grant) the schema
  --read-only         (grant) USAGE and SELECT only
  --json              (list) print JSON
${TARGET_HELP}

Examples:
  lakebase-kit roles add alice@example.com
  lakebase-kit roles grant alice@example.com --schema app
  lakebase-kit roles add data-team --type GROUP && lakebase-kit roles grant data-team --schema app --read-only
  lakebase-kit roles list --json
`;

const OPTIONS = {
  ...TARGET_FLAGS,
  type: { type: 'string' },
  superuser: { type: 'boolean' },
  schema: { type: 'string' },
  'read-only': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const TYPES = ['USER', 'SERVICE_PRINCIPAL', 'GROUP'];

function identityType(value: string | undefined): IdentityType | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (!TYPES.includes(upper)) {
    throw new UsageError(`--type must be USER, SERVICE_PRINCIPAL or GROUP, got "${value}"`);
  }
  return upper as IdentityType;
}

const via = (path: string) => (path === 'roles-api' ? 'the roles API' : 'SQL');

function table(roles: RoleSummary[]): string {
  const rows = [
    ['ROLE', 'TYPE', 'LOGIN', 'DATABRICKS_SUPERUSER', 'ATTRIBUTES', 'ROLE_ID'],
    ...roles.map((role) => [
      role.postgresRole,
      role.identityType ?? '-',
      role.canLogin ? 'yes' : 'no',
      role.superuser ? 'yes' : 'no',
      [role.createdb && 'CREATEDB', role.createrole && 'CREATEROLE', role.bypassrls && 'BYPASSRLS']
        .filter(Boolean)
        .join(',') || '-',
      role.roleId ?? '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    });
    verbose = values.verbose === true;
    const [action, identity, ...extra] = positionals;
    if (values.help || !action) {
      io.stdout(ROLES_HELP);
      return values.help ? 0 : 2;
    }
    if (!['add', 'list', 'grant'].includes(action)) {
      throw new UsageError(`Unknown roles action "${action}": expected add, list or grant`);
    }
    if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}"`);
    if (action !== 'list' && !identity) {
      throw new UsageError(
        `roles ${action} needs an identity: lakebase-kit roles ${action} <identity>`,
      );
    }
    if (action === 'grant' && !values.schema) {
      throw new UsageError('roles grant needs --schema <schema>');
    }
    const type = identityType(values.type);
    const session = openSession(values, io.env);
    try {
      if (action === 'list') {
        const { roles, via: path } = await listRoles(session.target);
        io.stdout(
          values.json ? `${JSON.stringify({ via: path, roles }, null, 2)}\n` : `${table(roles)}\n`,
        );
        return 0;
      }
      if (action === 'add') {
        const result = await addRole(session.target, identity!, {
          type,
          superuser: values.superuser === true,
        });
        const what = result.created
          ? `Created the Postgres role "${result.role}"`
          : result.updated
            ? `Made "${result.role}" a member of databricks_superuser`
            : `"${result.role}" already has a Postgres role; nothing to do`;
        io.stdout(`${what} (through ${via(result.via)}).\n`);
        if (values.superuser) {
          io.stderr(
            'lakebase-kit roles: databricks_superuser bypasses row-level security; never give it to users of on-behalf-of requests.\n',
          );
        }
        return 0;
      }
      const result = await grantSchemaAccess(session.target, identity!, {
        schema: values.schema!,
        readOnly: values['read-only'] === true,
        type,
      });
      if (result.createdRole) {
        io.stdout(
          `Created the Postgres role "${result.role}" (through ${via(result.createdRole.via)}).\n`,
        );
      }
      io.stdout(
        values['read-only']
          ? `Granted "${result.role}" read-only access to schema ${result.schema} (USAGE, SELECT on its tables, now and later).\n`
          : `Granted "${result.role}" ALL on schema ${result.schema} and on its tables, sequences, functions and procedures, now and later.\n`,
      );
      if (verbose) io.stdout(`${result.statements.map((s) => `  ${s};`).join('\n')}\n`);
      return 0;
    } finally {
      await session.close();
    }
  } catch (error) {
    return fail('roles', error, io, verbose);
  }
}

export const roles: Command = {
  name: 'roles',
  summary: 'create Postgres roles for Databricks identities, list them, grant schema access',
  help: ROLES_HELP,
  run,
};
