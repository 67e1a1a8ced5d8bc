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
 * Create, update and delete answer a long-running operation (operations.ts). Reading needs
 * CAN_USE on the project, changing roles CAN_MANAGE; the project owner has CAN_MANAGE, the
 * app's service principal and plain users have neither unless granted. The roles themselves
 * are kept by a `RoleStore` (Postgres).
 */
import type http from 'node:http';
import type { RoleJson, RoleStore } from '../../base/role-types.js';
import type { SerialQueue } from '../../base/serial-queue.js';
import type { Log, ProjectPermission } from '../../base/types.js';
import type { Directory } from '../directory.js';
import { sendError, sendJson } from '../http.js';
import { ApiError, invalid } from './api-error.js';
import { Operations } from './operations.js';
import { readRoleBody, validRole, validRoleId } from './role-request.js';
import { roleUpdate, updatePaths, updateSpec } from './role-update.js';

export interface RolesApiDeps {
  /** `projects/<p>/branches/<b>` */
  branch: string;
  directory: Directory;
  store: RoleStore;
  /** Role changes run one at a time (with `addUser`'s). */
  roleChanges: SerialQueue;
  log: Log;
}

type Request = http.IncomingMessage;
type Response = http.ServerResponse;

export class RolesApi {
  readonly #deps: RolesApiDeps;
  readonly #prefix: string;
  readonly #operations: Operations;

  constructor(deps: RolesApiDeps) {
    this.#deps = deps;
    this.#prefix = `/api/2.0/postgres/${deps.branch}/`;
    this.#operations = new Operations(deps.branch);
  }

  /** Answers a request under `/api/2.0/postgres/projects/` from an authenticated identity. */
  async handle(req: Request, res: Response, url: URL, identity: string): Promise<void> {
    try {
      await this.#route(req, res, url, identity);
    } catch (error) {
      if (error instanceof ApiError) {
        sendError(res, error.status, error.errorCode, error.message);
        return;
      }
      const pgError = error as { code?: string; message?: string };
      if (typeof pgError.code === 'string' && /^[0-9A-Z]{5}$/.test(pgError.code)) {
        this.#deps.log(`api: roles: Postgres error ${pgError.code}`);
        sendError(res, 400, 'FAILED_PRECONDITION', `Postgres refused: ${pgError.message}`);
        return;
      }
      throw error;
    }
  }

  async #route(req: Request, res: Response, url: URL, identity: string): Promise<void> {
    const path = url.pathname;
    if (!`${path}/`.startsWith(this.#prefix)) {
      const branch = /^\/api\/2\.0\/postgres\/(projects\/[^/]+\/branches\/[^/]+)/.exec(path)?.[1];
      throw new ApiError(
        404,
        'NOT_FOUND',
        branch
          ? `Branch '${branch}' does not exist (this local Lakebase has ${this.#deps.branch})`
          : `No API found for '${req.method} ${path}'`,
      );
    }
    const rest = path.slice(this.#prefix.length).split('/');
    const method = req.method ?? 'GET';
    if (rest[0] === 'roles' && rest.length === 1) {
      if (method === 'GET') return this.#list(res, url, identity);
      if (method === 'POST') return this.#create(req, res, url, identity);
    } else if (rest[0] === 'roles' && rest.length === 2 && rest[1]) {
      const roleId = decodeURIComponent(rest[1]);
      if (method === 'GET') return this.#get(res, roleId, identity);
      if (method === 'PATCH') return this.#update(req, res, url, roleId, identity);
      if (method === 'DELETE') return this.#remove(res, url, roleId, identity);
    } else if (rest[0] === 'operations' && rest.length === 2 && method === 'GET') {
      return this.#operation(res, decodeURIComponent(rest[1]!), identity);
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
  }

  #authorize(identity: string, level: ProjectPermission, action: string): void {
    const { directory, branch } = this.#deps;
    if (directory.allows(identity, level)) return;
    const project = branch.split('/branches/')[0];
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      `'${identity}' does not have ${level} permission on project '${project}', which is ` +
        `required to ${action}. The project owner (${directory.projectOwner}) has ` +
        'CAN_MANAGE and can grant it.',
    );
  }

  async #list(res: Response, url: URL, identity: string): Promise<void> {
    this.#authorize(identity, 'CAN_USE', 'list roles');
    const all = await this.#deps.store.list();
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

  async #get(res: Response, roleId: string, identity: string): Promise<void> {
    this.#authorize(identity, 'CAN_USE', 'read roles');
    sendJson(res, 200, await this.#find(roleId));
  }

  async #find(roleId: string): Promise<RoleJson> {
    const role = await this.#deps.store.get(roleId);
    if (!role) {
      throw new ApiError(404, 'NOT_FOUND', `Role '${this.#deps.branch}/roles/${roleId}' not found`);
    }
    return role;
  }

  /** Roles Lakebase manages itself cannot be changed through the API. */
  #assertChangeable(name: string): void {
    if (this.#deps.store.isManaged(name)) {
      throw invalid(`Role '${name}' is managed by Lakebase and cannot be changed`);
    }
  }

  async #create(req: Request, res: Response, url: URL, identity: string): Promise<void> {
    this.#authorize(identity, 'CAN_MANAGE', 'create roles');
    const { store, directory, roleChanges, log } = this.#deps;
    const { role, spec } = validRole(await readRoleBody(req), (name) => directory.hasGroup(name));
    const replace = url.searchParams.get('replace_existing') === 'true';
    const given = validRoleId(url.searchParams.get('role_id'));
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
      this.#assertChangeable(name);
      const roleId = given ?? existing?.role_id ?? (await store.newRoleId(name));
      await store.define(role, existing !== undefined, roleId, spec);
      log(`api: roles: ${existing ? 'replaced' : 'created'} ${name}`);
      return this.#find(roleId);
    });
    sendJson(res, 200, this.#operations.started(created));
  }

  async #update(
    req: Request,
    res: Response,
    url: URL,
    roleId: string,
    identity: string,
  ): Promise<void> {
    this.#authorize(identity, 'CAN_MANAGE', 'update roles');
    const { store, roleChanges, log } = this.#deps;
    const spec = updateSpec(await readRoleBody(req));
    const mask = url.searchParams.get('update_mask');
    const paths = updatePaths(spec, mask);
    const updated = await roleChanges.run(async () => {
      const current = await this.#find(roleId);
      const name = current.status.postgres_role;
      this.#assertChangeable(name);
      const { changes, saved } = roleUpdate(current, spec, paths, mask !== null);
      await store.change(current.role_id, name, changes, saved);
      log(`api: roles: updated ${name} (${paths.join(', ')})`);
      return this.#find(current.role_id);
    });
    sendJson(res, 200, this.#operations.started(updated));
  }

  async #remove(res: Response, url: URL, roleId: string, identity: string): Promise<void> {
    this.#authorize(identity, 'CAN_MANAGE', 'delete roles');
    const { store, roleChanges, log } = this.#deps;
    const target = url.searchParams.get('reassign_owned_to');
    await roleChanges.run(async () => {
      const current = await this.#find(roleId);
      const name = current.status.postgres_role;
      this.#assertChangeable(name);
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
      log(`api: roles: deleted ${name}`);
    });
    sendJson(res, 200, this.#operations.started({}));
  }

  #operation(res: Response, id: string, identity: string): void {
    this.#authorize(identity, 'CAN_USE', 'read operations');
    const operation = this.#operations.get(id);
    if (!operation) {
      const name = `${this.#deps.branch}/operations/${id}`;
      throw new ApiError(404, 'NOT_FOUND', `Operation '${name}' not found`);
    }
    sendJson(res, 200, operation);
  }
}
