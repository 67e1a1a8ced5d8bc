/** SQL for the roles of a Lakebase project: names quoted, attributes spelled out. */
import pg from 'pg';
import type { IdentityType } from '../base/role-types.js';
import { identityComment } from './extension.js';

export const DATABRICKS_SUPERUSER = 'databricks_superuser';

export const ident = (name: string) => pg.Client.prototype.escapeIdentifier(name);
export const literal = (value: string) => pg.Client.prototype.escapeLiteral(value);

/** `create role` unless it exists; a concurrent creation of the same role is fine. */
export function createRoleIfMissing(role: string, attributes: string): string {
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
 * The statements creating an identity role as the project owner would (see project-roles.ts):
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

/** Makes `role` a member of `databricks_superuser`, or not. */
export function superuserMembership(role: string, member: boolean): string {
  return member
    ? `grant ${DATABRICKS_SUPERUSER} to ${ident(role)}`
    : `revoke ${DATABRICKS_SUPERUSER} from ${ident(role)}`;
}
