/**
 * The roles REST API of Lakebase Autoscaling, for the one branch of the local project:
 *
 *   GET    /api/2.0/postgres/{branch}/roles                  list (page_size, page_token)
 *   POST   /api/2.0/postgres/{branch}/roles?role_id=…        create (body: a Role, `{ spec }`)
 *   GET    /api/2.0/postgres/{branch}/roles/{role_id}        get
 *   PATCH  /api/2.0/postgres/{branch}/roles/{role_id}?update_mask=spec.membership_roles
 *   DELETE /api/2.0/postgres/{branch}/roles/{role_id}?reassign_owned_to=…
 *   GET    /api/2.0/postgres/{branch}/operations/{id}        a long-running operation
 *
 * Create, update and delete answer a long-running `Operation` (`done: false`; the change is
 * made at once and the operation reads `done: true` with the `response` when polled). Reading
 * needs CAN_USE on the project, changing roles CAN_MANAGE; the project owner has CAN_MANAGE,
 * the app's service principal and plain users have neither unless granted.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import pg from 'pg';
import type { Directory } from './directory.js';
import { readBody, sendError, sendJson } from './http-util.js';
import {
  type AuthMethod,
  ROLE_ID,
  type RoleAttributesJson,
  type RoleCatalog,
  type RoleJson,
  type RoleSpecJson,
} from './role-catalog.js';
import {
  createIdentityRoleStatements,
  DATABRICKS_SUPERUSER,
  type IdentityType,
  roleAttributes,
} from './roles.js';
import type { SerialQueue } from './serial-queue.js';
import type { ProjectPermission } from './types.js';

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

export interface RolesApiDeps {
  /** `projects/<p>/branches/<b>` */
  branch: string;
  database: string;
  directory: Directory;
  catalog: RoleCatalog;
  /** Superuser queries on the app's database. */
  sql: Query;
  /** Role changes run one at a time (with `addUser`'s). */
  roleChanges: SerialQueue;
  log(line: string): void;
}

const IDENTITY_TYPES: readonly IdentityType[] = ['USER', 'SERVICE_PRINCIPAL', 'GROUP'];
const AUTH_METHODS: readonly AuthMethod[] = [
  'LAKEBASE_OAUTH_V1',
  'PG_PASSWORD_SCRAM_SHA_256',
  'NO_LOGIN',
];
const ATTRIBUTES = ['createdb', 'createrole', 'bypassrls'] as const;
const UPDATABLE = new Set([
  'spec.membership_roles',
  'spec.attributes',
  'spec.attributes.createdb',
  'spec.attributes.createrole',
  'spec.attributes.bypassrls',
  'spec.auth_method',
]);
const IMMUTABLE = new Set(['spec.identity_type', 'spec.postgres_role', 'name', 'role_id']);
const EMAIL = /^[^\s@"]+@[^\s@"]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_OPERATIONS = 1000;

const ident = (name: string) => pg.Client.prototype.escapeIdentifier(name);

/** A 4xx answer: thrown by validation, sent by `handle`. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);

interface Operation {
  name: string;
  response: unknown;
}

interface ValidSpec {
  postgresRole: string;
  identityType: IdentityType | undefined;
  authMethod: AuthMethod;
  superuser: boolean;
  attributes: Required<RoleAttributesJson>;
  given: RoleSpecJson;
}

export class RolesApi {
  private readonly operations = new Map<string, Operation>();
  private readonly prefix: string;

  constructor(private readonly deps: RolesApiDeps) {
    this.prefix = `/api/2.0/postgres/${deps.branch}/`;
  }

  /** Answers a request under `/api/2.0/postgres/projects/` from an authenticated identity. */
  async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    identity: string,
  ): Promise<void> {
    try {
      await this.route(req, res, url, identity);
    } catch (error) {
      if (error instanceof ApiError) {
        sendError(res, error.status, error.errorCode, error.message);
        return;
      }
      const pgError = error as { code?: string; message?: string };
      if (typeof pgError.code === 'string' && /^[0-9A-Z]{5}$/.test(pgError.code)) {
        this.deps.log(`api: roles: Postgres error ${pgError.code}`);
        sendError(res, 400, 'FAILED_PRECONDITION', `Postgres refused: ${pgError.message}`);
        return;
      }
      throw error;
    }
  }

  private async route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    identity: string,
  ): Promise<void> {
    const path = url.pathname;
    if (!`${path}/`.startsWith(this.prefix)) {
      const branch = /^\/api\/2\.0\/postgres\/(projects\/[^/]+\/branches\/[^/]+)/.exec(path)?.[1];
      throw new ApiError(
        404,
        'NOT_FOUND',
        branch
          ? `Branch '${branch}' does not exist (this local Lakebase has ${this.deps.branch})`
          : `No API found for '${req.method} ${path}'`,
      );
    }
    const rest = path.slice(this.prefix.length).split('/');
    const method = req.method ?? 'GET';
    if (rest[0] === 'roles' && rest.length === 1) {
      if (method === 'GET') return this.list(res, url, identity);
      if (method === 'POST') return this.create(req, res, url, identity);
    } else if (rest[0] === 'roles' && rest.length === 2 && rest[1]) {
      const roleId = decodeURIComponent(rest[1]);
      if (method === 'GET') return this.get(res, roleId, identity);
      if (method === 'PATCH') return this.update(req, res, url, roleId, identity);
      if (method === 'DELETE') return this.remove(res, url, roleId, identity);
    } else if (rest[0] === 'operations' && rest.length === 2 && method === 'GET') {
      return this.operation(res, decodeURIComponent(rest[1]!), identity);
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
  }

  private authorize(identity: string, level: ProjectPermission, action: string): void {
    if (this.deps.directory.allows(identity, level)) return;
    const project = this.deps.branch.split('/branches/')[0];
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      `'${identity}' does not have ${level} permission on project '${project}', which is ` +
        `required to ${action}. The project owner (${this.deps.directory.projectOwner}) has ` +
        `CAN_MANAGE and can grant it.`,
    );
  }

  private async list(res: http.ServerResponse, url: URL, identity: string): Promise<void> {
    this.authorize(identity, 'CAN_USE', 'list roles');
    const all = await this.deps.catalog.list();
    const pageSize = Number(url.searchParams.get('page_size') ?? 0);
    if (!Number.isInteger(pageSize) || pageSize < 0) {
      throw invalid('page_size must be a non-negative integer');
    }
    const token = url.searchParams.get('page_token');
    const start = token ? all.findIndex((role) => role.role_id > token) : 0;
    const from = start < 0 ? all.length : start;
    const page = pageSize > 0 ? all.slice(from, from + pageSize) : all.slice(from);
    const last = page.at(-1);
    const more = last !== undefined && from + page.length < all.length;
    sendJson(res, 200, { roles: page, ...(more ? { next_page_token: last.role_id } : {}) });
  }

  private async get(res: http.ServerResponse, roleId: string, identity: string): Promise<void> {
    this.authorize(identity, 'CAN_USE', 'read roles');
    sendJson(res, 200, await this.find(roleId));
  }

  private async find(roleId: string): Promise<RoleJson> {
    const role = await this.deps.catalog.get(roleId);
    if (!role) {
      throw new ApiError(404, 'NOT_FOUND', `Role '${this.deps.branch}/roles/${roleId}' not found`);
    }
    return role;
  }

  private async create(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    identity: string,
  ): Promise<void> {
    this.authorize(identity, 'CAN_MANAGE', 'create roles');
    const spec = this.validSpec(await readRoleBody(req));
    const replace = url.searchParams.get('replace_existing') === 'true';
    const given = url.searchParams.get('role_id');
    if (given !== null && !ROLE_ID.test(given)) {
      throw invalid(
        `role_id '${given}' is invalid: use 4-63 lowercase letters, digits and hyphens (RFC 1123)`,
      );
    }
    const role = await this.deps.roleChanges.run(async () => {
      const existing = await this.deps.catalog.byPostgresRole(spec.postgresRole);
      const clash = given ? await this.deps.catalog.get(given) : undefined;
      if (clash && clash.status.postgres_role !== spec.postgresRole) {
        throw new ApiError(409, 'ALREADY_EXISTS', `Role '${clash.name}' already exists`);
      }
      if (existing && !replace) {
        throw new ApiError(
          409,
          'ALREADY_EXISTS',
          `Postgres role '${spec.postgresRole}' already exists (${existing.name}); use update-role, or replace_existing=true`,
        );
      }
      this.assertManaged(spec.postgresRole);
      const roleId =
        given ?? existing?.role_id ?? (await this.deps.catalog.newRoleId(spec.postgresRole));
      const statements = existing
        ? this.replaceStatements(spec)
        : [
            ...createIdentityRoleStatements(
              this.deps.database,
              this.deps.directory.projectOwner,
              spec.postgresRole,
              {
                identityType: spec.identityType,
                login: spec.authMethod !== 'NO_LOGIN',
                ...spec.attributes,
              },
            ),
            ...(spec.superuser
              ? [`grant ${DATABRICKS_SUPERUSER} to ${ident(spec.postgresRole)}`]
              : []),
          ];
      await this.deps.sql(statements.join(';\n'));
      await this.deps.catalog.remember(spec.postgresRole, roleId, spec.given);
      this.deps.log(`api: roles: ${existing ? 'replaced' : 'created'} ${spec.postgresRole}`);
      return this.find(roleId);
    });
    this.answerOperation(res, role);
  }

  private replaceStatements(spec: ValidSpec): string[] {
    const role = ident(spec.postgresRole);
    return [
      `alter role ${role} ${roleAttributes({ login: spec.authMethod !== 'NO_LOGIN', ...spec.attributes })}`,
      spec.superuser
        ? `grant ${DATABRICKS_SUPERUSER} to ${role}`
        : `revoke ${DATABRICKS_SUPERUSER} from ${role}`,
    ];
  }

  private async update(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    roleId: string,
    identity: string,
  ): Promise<void> {
    this.authorize(identity, 'CAN_MANAGE', 'update roles');
    const body = await readRoleBody(req);
    const spec = (body.spec ?? {}) as RoleSpecJson;
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      throw invalid("Field 'spec' must be an object");
    }
    const mask = url.searchParams.get('update_mask');
    const paths = mask
      ? mask.split(',').map((p) => p.trim())
      : Object.keys(spec).map((key) => `spec.${key}`);
    const role = await this.deps.roleChanges.run(async () => {
      const current = await this.find(roleId);
      const name = current.status.postgres_role;
      this.assertManaged(name);
      const statements: string[] = [];
      const saved: RoleSpecJson = { ...(current.spec ?? {}) };
      for (const path of paths) {
        if (IMMUTABLE.has(path)) {
          const key = path.slice('spec.'.length) as 'identity_type' | 'postgres_role';
          const now = key === 'postgres_role' ? name : current.status.identity_type;
          if (mask || (spec[key] !== undefined && spec[key] !== now)) {
            throw invalid(`'${path}' cannot be changed after the role is created`);
          }
          continue;
        }
        if (!UPDATABLE.has(path)) {
          throw invalid(
            `update_mask path '${path}' is not supported; use ${[...UPDATABLE].join(', ')}`,
          );
        }
        if (path === 'spec.membership_roles') {
          const superuser = membership(spec.membership_roles);
          statements.push(
            superuser
              ? `grant ${DATABRICKS_SUPERUSER} to ${ident(name)}`
              : `revoke ${DATABRICKS_SUPERUSER} from ${ident(name)}`,
          );
          saved.membership_roles = superuser ? ['DATABRICKS_SUPERUSER'] : [];
        } else if (path === 'spec.auth_method') {
          const method = authMethod(spec.auth_method, current.status.identity_type);
          statements.push(
            `alter role ${ident(name)} ${method === 'NO_LOGIN' ? 'nologin' : 'login'}`,
          );
          saved.auth_method = method;
        } else {
          const only = path.split('.')[2] as (typeof ATTRIBUTES)[number] | undefined;
          const given = attributes(spec.attributes);
          const keys = only ? [only] : ATTRIBUTES;
          for (const key of keys) {
            statements.push(`alter role ${ident(name)} ${given[key] ? key : `no${key}`}`);
          }
          saved.attributes = {
            ...saved.attributes,
            ...Object.fromEntries(keys.map((k) => [k, given[k]])),
          };
        }
      }
      if (statements.length > 0) await this.deps.sql(statements.join(';\n'));
      await this.deps.catalog.remember(name, current.role_id, saved);
      this.deps.log(`api: roles: updated ${name} (${paths.join(', ')})`);
      return this.find(current.role_id);
    });
    this.answerOperation(res, role);
  }

  private async remove(
    res: http.ServerResponse,
    url: URL,
    roleId: string,
    identity: string,
  ): Promise<void> {
    this.authorize(identity, 'CAN_MANAGE', 'delete roles');
    const target = url.searchParams.get('reassign_owned_to');
    await this.deps.roleChanges.run(async () => {
      const current = await this.find(roleId);
      const name = current.status.postgres_role;
      this.assertManaged(name);
      const statements: string[] = [];
      if (target) {
        const heir =
          (await this.deps.catalog.get(target)) ?? (await this.deps.catalog.byPostgresRole(target));
        if (!heir) throw invalid(`reassign_owned_to: role '${target}' not found`);
        statements.push(`reassign owned by ${ident(name)} to ${ident(heir.status.postgres_role)}`);
      } else if (await this.ownsObjects(name)) {
        throw new ApiError(
          400,
          'FAILED_PRECONDITION',
          `Role '${name}' owns objects in the database: pass reassign_owned_to=<role> to move ` +
            'them to another role first',
        );
      }
      // What is left are privileges granted to the role (CONNECT, grants on tables...).
      statements.push(`drop owned by ${ident(name)}`, `drop role ${ident(name)}`);
      await this.deps.sql(statements.join(';\n'));
      await this.deps.catalog.forget(name);
      this.deps.log(`api: roles: deleted ${name}`);
    });
    this.answerOperation(res, {});
  }

  private async ownsObjects(role: string): Promise<boolean> {
    const { rows } = await this.deps.sql(
      `select 1 from pg_shdepend d join pg_roles r on r.oid = d.refobjid
       where r.rolname = $1 and d.deptype = 'o' limit 1`,
      [role],
    );
    return rows.length > 0;
  }

  /** Roles Lakebase manages itself cannot be changed through the API. */
  private assertManaged(name: string): void {
    if (name === DATABRICKS_SUPERUSER || name === this.deps.directory.projectOwner) {
      throw invalid(`Role '${name}' is managed by Lakebase and cannot be changed`);
    }
  }

  private validSpec(body: Record<string, unknown>): ValidSpec {
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
    if (type === 'GROUP' && !this.deps.directory.hasGroup(name)) {
      throw invalid(`Workspace group '${name}' does not exist`);
    }
    return {
      postgresRole: name,
      identityType: type,
      authMethod: authMethod(spec.auth_method, type),
      superuser: membership(spec.membership_roles),
      attributes: attributes(spec.attributes),
      given: spec,
    };
  }

  private answerOperation(res: http.ServerResponse, response: unknown): void {
    const name = `${this.deps.branch}/operations/${randomUUID()}`;
    this.operations.set(name, { name, response });
    while (this.operations.size > MAX_OPERATIONS) {
      this.operations.delete(this.operations.keys().next().value as string);
    }
    sendJson(res, 200, { name, done: false, metadata: {} });
  }

  private operation(res: http.ServerResponse, id: string, identity: string): void {
    this.authorize(identity, 'CAN_USE', 'read operations');
    const name = `${this.deps.branch}/operations/${id}`;
    const operation = this.operations.get(name);
    if (!operation) throw new ApiError(404, 'NOT_FOUND', `Operation '${name}' not found`);
    sendJson(res, 200, { name, done: true, metadata: {}, response: operation.response });
  }
}

async function readRoleBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  let body: unknown;
  try {
    body = raw ? JSON.parse(raw) : {};
  } catch {
    throw new ApiError(400, 'MALFORMED_REQUEST', 'Request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'MALFORMED_REQUEST', 'Request body must be a JSON object (a Role)');
  }
  const record = body as Record<string, unknown>;
  // The body is the Role; `{ "role": { ... } }` is accepted too.
  if (record.spec === undefined && typeof record.role === 'object' && record.role !== null) {
    return record.role as Record<string, unknown>;
  }
  return record;
}

function membership(roles: unknown): boolean {
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

function authMethod(raw: unknown, type: IdentityType | undefined): AuthMethod {
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

function attributes(raw: unknown): Required<RoleAttributesJson> {
  if (raw === undefined || raw === null)
    return { createdb: false, createrole: false, bypassrls: false };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalid('spec.attributes must be an object');
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
