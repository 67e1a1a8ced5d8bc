/**
 * The roles API's changes, made in Postgres: `RoleStore` over the role catalog, as the project
 * owner would make them (identity roles administered and inherited by the owner).
 */
import type {
  RoleChange,
  RoleDefinition,
  RoleJson,
  RoleSpecJson,
  RoleStore,
} from '../base/role-types.js';
import type { Admin } from './admin.js';
import { RoleCatalog } from './role-catalog.js';
import {
  createIdentityRoleStatements,
  DATABRICKS_SUPERUSER,
  ident,
  roleAttributes,
  superuserMembership,
} from './role-sql.js';

export interface PostgresRoleStoreOptions {
  /** `projects/<p>/branches/<b>` */
  branch: string;
  database: string;
  /** The project owner's role. */
  owner: string;
  admin: Admin;
}

export class PostgresRoleStore implements RoleStore {
  readonly #catalog: RoleCatalog;
  readonly #admin: Admin;
  readonly #database: string;
  readonly #owner: string;

  constructor({ branch, database, owner, admin }: PostgresRoleStoreOptions) {
    this.#admin = admin;
    this.#database = database;
    this.#owner = owner;
    this.#catalog = new RoleCatalog(branch, admin.sql, (text, values) =>
      admin.query('postgres', text, values),
    );
  }

  list(): Promise<RoleJson[]> {
    return this.#catalog.list();
  }

  get(roleId: string): Promise<RoleJson | undefined> {
    return this.#catalog.get(roleId);
  }

  byPostgresRole(name: string): Promise<RoleJson | undefined> {
    return this.#catalog.byPostgresRole(name);
  }

  newRoleId(postgresRole: string): Promise<string> {
    return this.#catalog.newRoleId(postgresRole);
  }

  isManaged(postgresRole: string): boolean {
    return postgresRole === DATABRICKS_SUPERUSER || postgresRole === this.#owner;
  }

  async define(
    role: RoleDefinition,
    existing: boolean,
    roleId: string,
    spec: RoleSpecJson,
  ): Promise<void> {
    const name = role.postgresRole;
    const options = { login: role.login, ...role.attributes };
    const statements = existing
      ? [`alter role ${ident(name)} ${roleAttributes(options)}`]
      : createIdentityRoleStatements(this.#database, this.#owner, name, {
          identityType: role.identityType,
          ...options,
        });
    if (existing || role.superuser) statements.push(superuserMembership(name, role.superuser));
    await this.#admin.sql(statements.join(';\n'));
    await this.#catalog.remember(name, roleId, spec);
  }

  async change(
    roleId: string,
    postgresRole: string,
    changes: RoleChange[],
    spec: RoleSpecJson,
  ): Promise<void> {
    const statements = changes.map((change) => changeStatement(postgresRole, change));
    if (statements.length > 0) await this.#admin.sql(statements.join(';\n'));
    await this.#catalog.remember(postgresRole, roleId, spec);
  }

  async ownsObjects(postgresRole: string): Promise<boolean> {
    const { rows } = await this.#admin.sql(
      `select 1 from pg_shdepend d join pg_roles r on r.oid = d.refobjid
       where r.rolname = $1 and d.deptype = 'o' limit 1`,
      [postgresRole],
    );
    return rows.length > 0;
  }

  async drop(postgresRole: string, heir: string | undefined): Promise<void> {
    const role = ident(postgresRole);
    await this.#admin.sql(
      [
        ...(heir ? [`reassign owned by ${role} to ${ident(heir)}`] : []),
        // What is left are privileges granted to the role (CONNECT, grants on tables...).
        `drop owned by ${role}`,
        `drop role ${role}`,
      ].join(';\n'),
    );
    await this.#catalog.forget(postgresRole);
  }
}

function changeStatement(postgresRole: string, change: RoleChange): string {
  const role = ident(postgresRole);
  if (change.kind === 'superuser') return superuserMembership(postgresRole, change.member);
  if (change.kind === 'login') return `alter role ${role} ${change.login ? 'login' : 'nologin'}`;
  return `alter role ${role} ${change.on ? change.attribute : `no${change.attribute}`}`;
}
