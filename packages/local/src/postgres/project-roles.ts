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
import type { Admin } from './admin.js';
import { identityComment } from './extension.js';
import {
  createIdentityRoleStatements,
  createRoleIfMissing,
  DATABRICKS_SUPERUSER,
  ident,
  literal,
} from './role-sql.js';

/** The roles of one project: its database and its owner. */
export class ProjectRoles {
  readonly #admin: Admin;
  readonly #database: string;
  readonly #owner: string;

  constructor(admin: Admin, database: string, owner: string) {
    this.#admin = admin;
    this.#database = database;
    this.#owner = owner;
  }

  /**
   * `databricks_superuser`, the project owner and the database (owned by the owner).
   * Idempotent: also brings a data dir made by an older version (database owned by the SP) up
   * to date.
   */
  async ensureProject(): Promise<void> {
    const admin = this.#admin;
    const [database, owner] = [ident(this.#database), ident(this.#owner)];
    await admin.run('postgres', [
      createRoleIfMissing(DATABRICKS_SUPERUSER, 'NOLOGIN'),
      `alter role ${DATABRICKS_SUPERUSER} nologin nosuperuser createdb createrole bypassrls inherit`,
      `grant pg_read_all_data, pg_write_all_data, pg_monitor to ${DATABRICKS_SUPERUSER}`,
      createRoleIfMissing(this.#owner, 'LOGIN'),
      `alter role ${owner} login nosuperuser createdb createrole replication bypassrls inherit`,
      `comment on role ${owner} is ${literal(identityComment('USER'))}`,
      `grant ${DATABRICKS_SUPERUSER} to ${owner}`,
    ]);
    const exists = await admin.query('postgres', 'select 1 from pg_database where datname = $1', [
      this.#database,
    ]);
    await admin.query(
      'postgres',
      exists.rowCount === 0
        ? `create database ${database} owner ${owner}`
        : `alter database ${database} owner to ${owner}`,
    );
    await admin.run(this.#database, [
      `grant all on database ${database} to ${DATABRICKS_SUPERUSER} with grant option`,
    ]);
  }

  /** The app's service principal: LOGIN, CONNECT and CREATE on the database, nothing else. */
  async ensureServicePrincipal(clientId: string): Promise<void> {
    const [database, role] = [ident(this.#database), ident(clientId)];
    await this.#admin.run(this.#database, [
      ...createIdentityRoleStatements(this.#database, this.#owner, clientId, {
        identityType: 'SERVICE_PRINCIPAL',
        login: true,
      }),
      `alter role ${role} nocreatedb nocreaterole nobypassrls`,
      `grant connect, create on database ${database} to ${role}`,
    ]);
  }

  /** A user role: LOGIN, NOSUPERUSER, NOBYPASSRLS, CONNECT on the database. */
  async ensureUser(email: string): Promise<void> {
    await this.#admin.run(
      this.#database,
      createIdentityRoleStatements(this.#database, this.#owner, email, {
        identityType: 'USER',
        login: true,
      }),
    );
  }

  /**
   * Lets `member` (the service principal) `SET ROLE` to `role` without inheriting its
   * privileges (SET, not INHERIT), as a project owner could grant it on Lakebase: what
   * `userPools.mode: 'set-role'` needs. With `grant: false`, takes it back.
   */
  async grantSetRole(member: string, role: string, grant = true): Promise<void> {
    await this.#admin.run(this.#database, [
      grant
        ? `grant ${ident(role)} to ${ident(member)} with inherit false, set true`
        : `revoke ${ident(role)} from ${ident(member)}`,
    ]);
  }
}
