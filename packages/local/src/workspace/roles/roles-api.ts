/**
 * The roles REST API of Lakebase Autoscaling, for every branch of the local project (each
 * branch keeps its own roles: it is its own Postgres):
 *
 *   GET    /api/2.0/postgres/{branch}/roles                  list (page_size, page_token)
 *   POST   /api/2.0/postgres/{branch}/roles?role_id=…        create (body: a Role, `{ spec }`)
 *   GET    /api/2.0/postgres/{branch}/roles/{role_id}        get
 *   PATCH  /api/2.0/postgres/{branch}/roles/{role_id}?update_mask=spec.membership_roles
 *   DELETE /api/2.0/postgres/{branch}/roles/{role_id}?reassign_owned_to=…
 *
 * Create, update and delete answer a long-running operation (api/operations.ts). Reading needs
 * CAN_USE on the project, changing roles CAN_MANAGE; the project owner has CAN_MANAGE, the
 * app's service principal and plain users have neither unless granted. The roles themselves
 * are kept by each branch's `RoleStore` (Postgres).
 */
import type { RoleJson } from '../../base/role-types.js';
import type { Log, ProjectPermission } from '../../base/types.js';
import type { ApiCall } from '../api/api-call.js';
import { ApiError, invalid } from '../api/api-error.js';
import type { Operations } from '../api/operations.js';
import { authorize } from '../api/permissions.js';
import type { Directory } from '../directory.js';
import { sendJson } from '../http.js';
import type { RolesBackend } from '../workspace-types.js';
import { readRoleBody, validRole, validRoleId } from './role-request.js';
import { roleUpdate, updatePaths, updateSpec } from './role-update.js';

export interface RolesApiDeps {
  directory: Directory;
  operations: Operations;
  log: Log;
}

type Response = ApiCall['res'];

export class RolesApi {
  readonly #deps: RolesApiDeps;

  constructor(deps: RolesApiDeps) {
    this.#deps = deps;
  }

  /** Answers `call` on `…/{branch}/roles[/{role_id}]` (`rest`: the path after `roles`). */
  async handle(call: ApiCall, branch: string, backend: RolesBackend, rest: string[]) {
    const { method, url, identity } = call;
    const scope = { branch, backend, identity };
    if (rest.length === 0) {
      if (method === 'GET') return this.#list(call.res, url, scope);
      if (method === 'POST') return this.#create(call, scope);
    } else if (rest.length === 1 && rest[0]) {
      const roleId = decodeURIComponent(rest[0]);
      if (method === 'GET') return this.#get(call.res, roleId, scope);
      if (method === 'PATCH') return this.#update(call, roleId, scope);
      if (method === 'DELETE') return this.#remove(call, roleId, scope);
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${url.pathname}'`);
  }

  #authorize(scope: Scope, level: ProjectPermission, action: string): void {
    const project = scope.branch.split('/branches/')[0]!;
    authorize(this.#deps.directory, project, scope.identity, level, action);
  }

  async #list(res: Response, url: URL, scope: Scope): Promise<void> {
    this.#authorize(scope, 'CAN_USE', 'list roles');
    const all = await scope.backend.store.list();
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

  async #get(res: Response, roleId: string, scope: Scope): Promise<void> {
    this.#authorize(scope, 'CAN_USE', 'read roles');
    sendJson(res, 200, await this.#find(roleId, scope));
  }

  async #find(roleId: string, scope: Scope): Promise<RoleJson> {
    const role = await scope.backend.store.get(roleId);
    if (!role) {
      throw new ApiError(404, 'NOT_FOUND', `Role '${scope.branch}/roles/${roleId}' not found`);
    }
    return role;
  }

  /** Roles Lakebase manages itself cannot be changed through the API. */
  #assertChangeable(name: string, scope: Scope): void {
    if (scope.backend.store.isManaged(name)) {
      throw invalid(`Role '${name}' is managed by Lakebase and cannot be changed`);
    }
  }

  async #create(call: ApiCall, scope: Scope): Promise<void> {
    this.#authorize(scope, 'CAN_MANAGE', 'create roles');
    const { directory, log } = this.#deps;
    const { store, roleChanges } = scope.backend;
    const { role, spec } = validRole(await readRoleBody(call.req), (name) =>
      directory.hasGroup(name),
    );
    const replace = call.url.searchParams.get('replace_existing') === 'true';
    const given = validRoleId(call.url.searchParams.get('role_id'));
    const name = role.postgresRole;
    const created = await roleChanges.run(async () => {
      const existing = await store.byPostgresRole(name);
      const clash = given ? await store.get(given) : undefined;
      if (clash && clash.status.postgres_role !== name) {
        throw new ApiError(409, 'ALREADY_EXISTS', `Role '${clash.name}' already exists`);
      }
      if (existing && !replace) {
        throw new ApiError(
          409,
          'ALREADY_EXISTS',
          `Postgres role '${name}' already exists (${existing.name}); use update-role, or replace_existing=true`,
        );
      }
      this.#assertChangeable(name, scope);
      const roleId = given ?? existing?.role_id ?? (await store.newRoleId(name));
      await store.define(role, existing !== undefined, roleId, spec);
      log(`api: roles: ${existing ? 'replaced' : 'created'} ${name} on ${scope.branch}`);
      return this.#find(roleId, scope);
    });
    sendJson(call.res, 200, this.#deps.operations.finished(scope.branch, created));
  }

  async #update(call: ApiCall, roleId: string, scope: Scope): Promise<void> {
    this.#authorize(scope, 'CAN_MANAGE', 'update roles');
    const { store, roleChanges } = scope.backend;
    const spec = updateSpec(await readRoleBody(call.req));
    const mask = call.url.searchParams.get('update_mask');
    const paths = updatePaths(spec, mask);
    const updated = await roleChanges.run(async () => {
      const current = await this.#find(roleId, scope);
      const name = current.status.postgres_role;
      this.#assertChangeable(name, scope);
      const { changes, saved } = roleUpdate(current, spec, paths, mask !== null);
      await store.change(current.role_id, name, changes, saved);
      this.#deps.log(`api: roles: updated ${name} (${paths.join(', ')})`);
      return this.#find(current.role_id, scope);
    });
    sendJson(call.res, 200, this.#deps.operations.finished(scope.branch, updated));
  }

  async #remove(call: ApiCall, roleId: string, scope: Scope): Promise<void> {
    this.#authorize(scope, 'CAN_MANAGE', 'delete roles');
    const { store, roleChanges } = scope.backend;
    const target = call.url.searchParams.get('reassign_owned_to');
    await roleChanges.run(async () => {
      const current = await this.#find(roleId, scope);
      const name = current.status.postgres_role;
      this.#assertChangeable(name, scope);
      let heir: string | undefined;
      if (target) {
        const found = (await store.get(target)) ?? (await store.byPostgresRole(target));
        if (!found) throw invalid(`reassign_owned_to: role '${target}' not found`);
        heir = found.status.postgres_role;
      } else if (await store.ownsObjects(name)) {
        throw new ApiError(
          400,
          'FAILED_PRECONDITION',
          `Role '${name}' owns objects in the database: pass reassign_owned_to=<role> to move ` +
            'them to another role first',
        );
      }
      await store.drop(name, heir);
      this.#deps.log(`api: roles: deleted ${name}`);
    });
    sendJson(call.res, 200, this.#deps.operations.finished(scope.branch, {}));
  }
}

interface Scope {
  branch: string;
  backend: RolesBackend;
  identity: string;
}
