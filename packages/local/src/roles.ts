/** Database and role setup, as Lakebase's `databricks_create_role` would leave it. */
import pg from 'pg';
import type { PostgresServer } from './postgres.js';

const ident = (name: string) => pg.Client.prototype.escapeIdentifier(name);
const literal = (value: string) => pg.Client.prototype.escapeLiteral(value);

/** Creates the database if missing. */
export async function ensureDatabase(server: PostgresServer, database: string): Promise<void> {
  const exists = await server.query('postgres', 'select 1 from pg_database where datname = $1', [
    database,
  ]);
  if (exists.rowCount === 0) {
    await server.query('postgres', `create database ${ident(database)}`);
  }
}

async function ensureRole(server: PostgresServer, database: string, role: string, extra: string) {
  const sql = `do $$ begin
    if not exists (select 1 from pg_roles where rolname = ${literal(role)}) then
      create role ${ident(role)} login nosuperuser nobypassrls ${extra};
    end if;
  end $$`;
  try {
    await server.query(database, sql);
  } catch (error) {
    // A concurrent creation of the same role is fine.
    if (
      (error as { code?: string }).code !== '42710' &&
      (error as { code?: string }).code !== '23505'
    ) {
      throw error;
    }
  }
}

/**
 * The app's service principal: LOGIN, NOSUPERUSER, NOBYPASSRLS, CREATEDB, and owner of the
 * database (so it can create schemas, and tables in `public`, and enable RLS on its tables).
 */
export async function ensureServicePrincipalRole(
  server: PostgresServer,
  database: string,
  clientId: string,
): Promise<void> {
  await ensureRole(server, database, clientId, 'createdb');
  await server.query(database, `alter database ${ident(database)} owner to ${ident(clientId)}`);
  await server.query(database, `grant all on database ${ident(database)} to ${ident(clientId)}`);
}

/** A user role: LOGIN, NOSUPERUSER, NOBYPASSRLS, CONNECT on the database. */
export async function ensureUserRole(
  server: PostgresServer,
  database: string,
  email: string,
): Promise<void> {
  await ensureRole(server, database, email, '');
  await server.query(database, `grant connect on database ${ident(database)} to ${ident(email)}`);
}
