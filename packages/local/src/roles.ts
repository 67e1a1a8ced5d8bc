/**
 * The Postgres roles of a Lakebase project, as Lakebase leaves them:
 * - `databricks_superuser`: NOLOGIN, not a Postgres superuser, CREATEDB CREATEROLE BYPASSRLS,
 *   member of `pg_read_all_data`, `pg_write_all_data` and `pg_monitor`, all privileges (with
 *   grant option) on the database;
 * - the project owner (a workspace user): LOGIN CREATEDB CREATEROLE REPLICATION BYPASSRLS,
 *   member of `databricks_superuser`, owner of the database (so of its `public` schema);
 * - the app's service principal: a plain LOGIN role with CONNECT and CREATE on the database
 *   (CAN_CONNECT_AND_CREATE), so it can create its own schemas and nothing else;
 * - user roles: plain LOGIN roles with CONNECT.
 * Every identity role is administered and inherited by the project owner (as if the owner had
 * created it with `createrole_self_grant = 'set, inherit'`), and carries a comment naming its
 * identity type. All of it runs as the cluster's superuser.
 */
import pg from 'pg';
import { identityComment } from './databricks-auth.js';
import type { PostgresServer } from './postgres.js';

export const DATABRICKS_SUPERUSER = 'databricks_superuser';
export type IdentityType = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP';

const ident = (name: string) => pg.Client.prototype.escapeIdentifier(name);
const literal = (value: string) => pg.Client.prototype.escapeLiteral(value);

/** Runs statements as the superuser on one database, over one short-lived client. */
async function asSuperuser(
  server: PostgresServer,
  database: string,
  statements: string[],
): Promise<void> {
  const client = new pg.Client(server.clientConfig(database));
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `create role` unless it exists; a concurrent creation of the same role is fine. */
function createRoleIfMissing(role: string, attributes: string): string {
  return `do $$ begin
    if not exists (select 1 from pg_roles where rolname = ${literal(role)}) then
      create role ${ident(role)} ${attributes};
    end if;
  exception when duplicate_object or unique_violation then null;
  end $$`;
}

export interface RoleOptions {
  identityType?: IdentityType;
  login: boolean;
  createdb?: boolean;
  createrole?: boolean;
  bypassrls?: boolean;
}

/** `LOGIN NOSUPERUSER NOCREATEDB ...` for `options`. */
export function roleAttributes(options: RoleOptions): string {
  const flag = (on: boolean | undefined, name: string) => (on ? name : `NO${name}`);
  return [
    options.login ? 'LOGIN' : 'NOLOGIN',
    'NOSUPERUSER',
    flag(options.createdb, 'CREATEDB'),
    flag(options.createrole, 'CREATEROLE'),
    flag(options.bypassrls, 'BYPASSRLS'),
    'INHERIT',
  ].join(' ');
}

/**
 * The statements creating an identity role as the project owner would (see the file comment):
 * the role, its identity comment, the owner's admin membership, CONNECT on the database.
 */
export function createIdentityRoleStatements(
  database: string,
  owner: string,
  role: string,
  options: RoleOptions,
): string[] {
  return [
    createRoleIfMissing(role, roleAttributes(options)),
    ...(options.identityType
      ? [`comment on role ${ident(role)} is ${literal(identityComment(options.identityType))}`]
      : []),
    ...(role === owner
      ? []
      : [`grant ${ident(role)} to ${ident(owner)} with admin true, inherit true, set true`]),
    `grant connect on database ${ident(database)} to ${ident(role)}`,
  ];
}

/**
 * `databricks_superuser`, the project owner and the database (owned by the owner). Idempotent:
 * also brings a data dir made by an older version (database owned by the SP) up to date.
 */
export async function ensureProject(
  server: PostgresServer,
  database: string,
  owner: string,
): Promise<void> {
  await asSuperuser(server, 'postgres', [
    createRoleIfMissing(DATABRICKS_SUPERUSER, 'NOLOGIN'),
    `alter role ${DATABRICKS_SUPERUSER} nologin nosuperuser createdb createrole bypassrls inherit`,
    `grant pg_read_all_data, pg_write_all_data, pg_monitor to ${DATABRICKS_SUPERUSER}`,
    createRoleIfMissing(owner, 'LOGIN'),
    `alter role ${ident(owner)} login nosuperuser createdb createrole replication bypassrls inherit`,
    `comment on role ${ident(owner)} is ${literal(identityComment('USER'))}`,
    `grant ${DATABRICKS_SUPERUSER} to ${ident(owner)}`,
  ]);
  const exists = await server.query('postgres', 'select 1 from pg_database where datname = $1', [
    database,
  ]);
  if (exists.rowCount === 0) {
    await server.query('postgres', `create database ${ident(database)} owner ${ident(owner)}`);
  } else {
    await server.query('postgres', `alter database ${ident(database)} owner to ${ident(owner)}`);
  }
  await asSuperuser(server, database, [
    `grant all on database ${ident(database)} to ${DATABRICKS_SUPERUSER} with grant option`,
  ]);
}

/** The app's service principal: LOGIN, CONNECT and CREATE on the database, nothing else. */
export async function ensureServicePrincipalRole(
  server: PostgresServer,
  database: string,
  owner: string,
  clientId: string,
): Promise<void> {
  await asSuperuser(server, database, [
    ...createIdentityRoleStatements(database, owner, clientId, {
      identityType: 'SERVICE_PRINCIPAL',
      login: true,
    }),
    `alter role ${ident(clientId)} nocreatedb nocreaterole nobypassrls`,
    `grant connect, create on database ${ident(database)} to ${ident(clientId)}`,
  ]);
}

/** A user role: LOGIN, NOSUPERUSER, NOBYPASSRLS, CONNECT on the database. */
export async function ensureUserRole(
  server: PostgresServer,
  database: string,
  owner: string,
  email: string,
): Promise<void> {
  await asSuperuser(
    server,
    database,
    createIdentityRoleStatements(database, owner, email, { identityType: 'USER', login: true }),
  );
}

/**
 * Lets the service principal `SET ROLE` to `role` without inheriting its privileges (SET, not
 * INHERIT), as a project owner could grant it on Lakebase: what `userPools.mode: 'set-role'`
 * needs. With `grant: false`, takes it back.
 */
export async function grantSetRole(
  server: PostgresServer,
  database: string,
  clientId: string,
  role: string,
  grant = true,
): Promise<void> {
  await asSuperuser(server, database, [
    grant
      ? `grant ${ident(role)} to ${ident(clientId)} with inherit false, set true`
      : `revoke ${ident(role)} from ${ident(clientId)}`,
  ]);
}
