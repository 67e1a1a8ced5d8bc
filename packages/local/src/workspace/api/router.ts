/**
 * The Lakebase REST API under `/api/2.0/postgres/` (but the credential API): resource paths
 * routed to the branches, endpoints and roles APIs, and long-running operations by name. Errors
 * thrown as `ApiError` are answered as Databricks errors (`{ error_code, message }`); a
 * Postgres error is a 400 FAILED_PRECONDITION naming it.
 */
import { BranchHistoryError } from '../../base/branch-types.js';
import type { Log } from '../../base/types.js';
import type { Directory } from '../directory.js';
import type { EndpointsApi } from '../endpoints/endpoints-api.js';
import { sendError, sendJson } from '../http.js';
import type { RolesApi } from '../roles/roles-api.js';
import type { RolesBackend } from '../workspace-types.js';
import type { ApiCall } from './api-call.js';
import { ApiError } from './api-error.js';
import type { Operations } from './operations.js';
import { authorize } from './permissions.js';

export const API_PREFIX = '/api/2.0/postgres/';

/** What the router knows about branches (the branch service in full, or just main). */
export interface BranchDirectory {
  /** True for a branch that exists (deleted ones included). */
  exists(branch: string): boolean;
  /** The roles of a branch whose Postgres is up; undefined otherwise. */
  roles(branch: string): RolesBackend | undefined;
  isProtected(branch: string): boolean;
}

/** The branches API proper: `…/branches` and `…/branches/{id}[/{verb}]`. */
export interface BranchesHandler {
  handle(
    call: ApiCall,
    project: string,
    branchId: string | undefined,
    rest: string[],
  ): Promise<void>;
}

export interface RouterDeps {
  /** `projects/<p>` */
  project: string;
  /** `projects/<p>/branches/<b>`, the default branch (named in 404s). */
  defaultBranch: string;
  directory: Directory;
  operations: Operations;
  branches: BranchDirectory;
  branchesApi: BranchesHandler | undefined;
  rolesApi: RolesApi;
  endpointsApi: EndpointsApi;
  log: Log;
}

export class PostgresApi {
  readonly #deps: RouterDeps;

  constructor(deps: RouterDeps) {
    this.#deps = deps;
  }

  /** Answers an authenticated call under `/api/2.0/postgres/`. */
  async handle(call: ApiCall): Promise<void> {
    try {
      await this.#route(call);
    } catch (error) {
      if (error instanceof ApiError) {
        sendError(call.res, error.status, error.errorCode, error.message);
        return;
      }
      if (error instanceof BranchHistoryError) {
        sendError(call.res, 400, 'INVALID_PARAMETER_VALUE', error.message);
        return;
      }
      const pgError = error as { code?: string; message?: string };
      if (typeof pgError.code === 'string' && /^[0-9A-Z]{5}$/.test(pgError.code)) {
        this.#deps.log(`api: Postgres error ${pgError.code}`);
        sendError(call.res, 400, 'FAILED_PRECONDITION', `Postgres refused: ${pgError.message}`);
        return;
      }
      throw error;
    }
  }

  async #route(call: ApiCall): Promise<void> {
    const { method, url } = call;
    const deps = this.#deps;
    const segments = url.pathname.slice(API_PREFIX.length).split('/').map(decodeURIComponent);
    const notFound = () =>
      new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${url.pathname}'`);
    if (segments.at(-2) === 'operations' && method === 'GET') {
      return this.#operation(call, segments.join('/'));
    }
    if (segments[0] !== 'projects' || !segments[1] || segments[2] !== 'branches') throw notFound();
    const project = `projects/${segments[1]}`;
    const branchId = segments[3];
    const branch = branchId ? `${project}/branches/${branchId}` : undefined;
    if (project !== deps.project || (branch && !deps.branches.exists(branch))) {
      const what = branch ? `Branch '${branch}'` : `Project '${project}'`;
      throw new ApiError(
        404,
        'NOT_FOUND',
        `${what} does not exist (this local Lakebase has ${deps.defaultBranch}${deps.branchesApi ? ' and the branches made with the branches API' : ''})`,
      );
    }
    const rest = segments.slice(4);
    if (branch && (rest[0] === 'roles' || rest[0] === 'endpoints')) {
      if (rest[0] === 'endpoints') return deps.endpointsApi.handle(call, branch, rest.slice(1));
      const roles = deps.branches.roles(branch);
      if (!roles) {
        throw new ApiError(400, 'FAILED_PRECONDITION', `Branch '${branch}' is not ready`);
      }
      return deps.rolesApi.handle(call, branch, roles, rest.slice(1));
    }
    if (!deps.branchesApi) throw notFound();
    return deps.branchesApi.handle(call, project, branchId, rest);
  }

  #operation(call: ApiCall, name: string): void {
    const project = name.split('/').slice(0, 2).join('/');
    authorize(this.#deps.directory, project, call.identity, 'CAN_USE', 'read operations');
    const operation = this.#deps.operations.get(name);
    if (!operation) throw new ApiError(404, 'NOT_FOUND', `Operation '${name}' not found`);
    sendJson(call.res, 200, operation);
  }
}
