/** Reading and validating a roles API request body: a `Role` with its `spec`. */
import type http from 'node:http';
import { EMAIL, UUID } from '../../base/identities.js';
import type {
  AuthMethod,
  IdentityType,
  RoleAttribute,
  RoleAttributesJson,
  RoleDefinition,
  RoleSpecJson,
} from '../../base/role-types.js';
import { invalid } from '../api/api-error.js';
import { readJsonBody } from '../api/json-body.js';

const IDENTITY_TYPES: readonly IdentityType[] = ['USER', 'SERVICE_PRINCIPAL', 'GROUP'];
const AUTH_METHODS: readonly AuthMethod[] = [
  'LAKEBASE_OAUTH_V1',
  'PG_PASSWORD_SCRAM_SHA_256',
  'NO_LOGIN',
];
export const ATTRIBUTES: readonly RoleAttribute[] = ['createdb', 'createrole', 'bypassrls'];
/** A role id: 4-63 lowercase letters, digits and hyphens (RFC 1123). */
const ROLE_ID = /^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/;

/** The request body: the Role (`{ "role": { ... } }` is accepted too). */
export async function readRoleBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const record = await readJsonBody(req, 'a Role');
  if (record.spec === undefined && typeof record.role === 'object' && record.role !== null) {
    return record.role as Record<string, unknown>;
  }
  return record;
}

/** `?role_id=`, when given, checked. */
export function validRoleId(given: string | null): string | undefined {
  if (given === null) return undefined;
  if (!ROLE_ID.test(given)) {
    throw invalid(
      `role_id '${given}' is invalid: use 4-63 lowercase letters, digits and hyphens (RFC 1123)`,
    );
  }
  return given;
}

/** A create request's role, validated; `hasGroup` tells the workspace groups. */
export function validRole(
  body: Record<string, unknown>,
  hasGroup: (name: string) => boolean,
): { role: RoleDefinition; spec: RoleSpecJson } {
  const spec = body.spec as RoleSpecJson | undefined;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw invalid('Field \'spec\' is required: {"spec": {"postgres_role": ..., ...}}');
  }
  const name = spec.postgres_role;
  if (typeof name !== 'string' || name.trim() === '' || Buffer.byteLength(name) > 63) {
    throw invalid("Field 'spec.postgres_role' is required: a Postgres role name of 1-63 bytes");
  }
  if (/^pg_/i.test(name) || name === 'postgres') {
    throw invalid(`'${name}' is a reserved role name`);
  }
  const rawType = spec.identity_type as string | undefined;
  const type =
    rawType === undefined || rawType === 'IDENTITY_TYPE_UNSPECIFIED'
      ? undefined
      : (rawType as IdentityType);
  if (type !== undefined && !IDENTITY_TYPES.includes(type)) {
    throw invalid(
      `spec.identity_type must be one of ${IDENTITY_TYPES.join(', ')}, got '${rawType}'`,
    );
  }
  if (type === 'USER' && !EMAIL.test(name)) {
    throw invalid(`A USER role's postgres_role is the user's email, got '${name}'`);
  }
  if (type === 'SERVICE_PRINCIPAL' && !UUID.test(name)) {
    throw invalid(
      `A SERVICE_PRINCIPAL role's postgres_role is its application id (a UUID), got '${name}'`,
    );
  }
  if (type === 'GROUP' && !hasGroup(name)) {
    throw invalid(`Workspace group '${name}' does not exist`);
  }
  const role: RoleDefinition = {
    postgresRole: name,
    identityType: type,
    login: authMethod(spec.auth_method, type) !== 'NO_LOGIN',
    superuser: membership(spec.membership_roles),
    attributes: attributes(spec.attributes),
  };
  return { role, spec };
}

/** `membership_roles` → member of `databricks_superuser`? */
export function membership(roles: unknown): boolean {
  if (roles === undefined || roles === null) return false;
  if (!Array.isArray(roles)) throw invalid('spec.membership_roles must be an array');
  let superuser = false;
  for (const role of roles) {
    if (role === 'DATABRICKS_SUPERUSER') superuser = true;
    else if (role !== 'MEMBERSHIP_ROLE_UNSPECIFIED') {
      throw invalid(`spec.membership_roles: unknown role '${String(role)}' (DATABRICKS_SUPERUSER)`);
    }
  }
  return superuser;
}

/** `auth_method`, defaulted as the API does; password roles are not emulated. */
export function authMethod(raw: unknown, type: IdentityType | undefined): AuthMethod {
  const method = (raw ?? (type ? 'LAKEBASE_OAUTH_V1' : 'PG_PASSWORD_SCRAM_SHA_256')) as AuthMethod;
  if (!AUTH_METHODS.includes(method)) {
    throw invalid(
      `spec.auth_method must be one of ${AUTH_METHODS.join(', ')}, got '${String(raw)}'`,
    );
  }
  if (method === 'PG_PASSWORD_SCRAM_SHA_256') {
    throw invalid(
      'Password roles (auth_method PG_PASSWORD_SCRAM_SHA_256, the default without identity_type) ' +
        'are not emulated by the local Lakebase: give identity_type, or auth_method NO_LOGIN',
    );
  }
  if (method === 'LAKEBASE_OAUTH_V1' && !type) {
    throw invalid('auth_method LAKEBASE_OAUTH_V1 needs spec.identity_type');
  }
  return method;
}

/** `attributes`, every one spelled out (absent → false). */
export function attributes(raw: unknown): Required<RoleAttributesJson> {
  if (raw === undefined || raw === null) {
    return { createdb: false, createrole: false, bypassrls: false };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid('spec.attributes must be an object');
  }
  const given = raw as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    if (!(ATTRIBUTES as readonly string[]).includes(key)) {
      throw invalid(`spec.attributes.${key} is not supported (${ATTRIBUTES.join(', ')})`);
    }
    if (typeof value !== 'boolean') throw invalid(`spec.attributes.${key} must be a boolean`);
  }
  return {
    createdb: given.createdb === true,
    createrole: given.createrole === true,
    bypassrls: given.bypassrls === true,
  };
}
