/**
 * The endpoints REST API of Lakebase Autoscaling, for every branch of the local project:
 *
 *   GET    /api/2.0/postgres/{branch}/endpoints                     list (page_size, page_token)
 *   GET    /api/2.0/postgres/{branch}/endpoints/{endpoint_id}       get
 *   POST   /api/2.0/postgres/{branch}/endpoints?endpoint_id=…       create (body: an Endpoint,
 *          `{ spec: { endpoint_type } }`): READ_ONLY starts a streaming replica of the branch
 *   DELETE /api/2.0/postgres/{branch}/endpoints/{endpoint_id}       delete
 *
 * Create and delete answer a long-running operation. Reading needs CAN_USE on the project (an
 * endpoint alone: also the app's service principal, which its app resource binds to the
 * project — an assumption: the docs do not say), changes CAN_MANAGE. The computes themselves are the project's (`EndpointCatalog`).
 */
import type { EndpointCatalog, EndpointType } from '../../base/endpoint-types.js';
import type { Log } from '../../base/types.js';
import type { ApiCall } from '../api/api-call.js';
import { ApiError, invalid } from '../api/api-error.js';
import { readJsonBody } from '../api/json-body.js';
import type { Operations } from '../api/operations.js';
import { authorize } from '../api/permissions.js';
import { page, validResourceId } from '../api/resource-id.js';
import type { Directory } from '../directory.js';
import { sendJson } from '../http.js';
import { endpointJson } from './endpoint-json.js';

const TYPES: readonly EndpointType[] = ['ENDPOINT_TYPE_READ_WRITE', 'ENDPOINT_TYPE_READ_ONLY'];

export interface EndpointsApiDeps {
  catalog: EndpointCatalog;
  directory: Directory;
  operations: Operations;
  /** Protected branches' computes cannot be deleted. */
  isProtected(branch: string): boolean;
  /**
   * The app's service principal: bound to the project by its app resource, it may read an
   * endpoint (as AppKit's and the kit's host checks do at startup) without CAN_USE.
   */
  appServicePrincipal?: string;
  log: Log;
}

export class EndpointsApi {
  readonly #deps: EndpointsApiDeps;

  constructor(deps: EndpointsApiDeps) {
    this.#deps = deps;
  }

  /** Answers `call` on `…/{branch}/endpoints[/{endpoint_id}]` (`rest`: after `endpoints`). */
  async handle(call: ApiCall, branch: string, rest: string[]): Promise<void> {
    const { method, url, identity } = call;
    const project = branch.split('/branches/')[0]!;
    const allow = (level: 'CAN_USE' | 'CAN_MANAGE', action: string) =>
      authorize(this.#deps.directory, project, identity, level, action);
    if (rest.length === 0 && method === 'GET') {
      allow('CAN_USE', 'list endpoints');
      const all = this.#deps.catalog.list(branch).map(endpointJson);
      const { items, nextPageToken } = page(all, url, (endpoint) => endpoint.endpoint_id);
      sendJson(call.res, 200, {
        endpoints: items,
        ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
      });
      return;
    }
    if (rest.length === 0 && method === 'POST') {
      allow('CAN_MANAGE', 'create endpoints');
      return this.#create(call, branch);
    }
    if (rest.length === 1 && rest[0]) {
      const name = `${branch}/endpoints/${decodeURIComponent(rest[0])}`;
      if (method === 'GET') {
        if (identity !== this.#deps.appServicePrincipal) allow('CAN_USE', 'read endpoints');
        sendJson(call.res, 200, endpointJson(this.#find(name)));
        return;
      }
      if (method === 'DELETE') {
        allow('CAN_MANAGE', 'delete endpoints');
        return this.#remove(call, branch, name);
      }
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${url.pathname}'`);
  }

  #find(name: string) {
    const record = this.#deps.catalog.get(name);
    if (!record) throw new ApiError(404, 'NOT_FOUND', `Endpoint '${name}' not found`);
    return record;
  }

  async #create(call: ApiCall, branch: string): Promise<void> {
    const id = validResourceId('endpoint_id', call.url.searchParams.get('endpoint_id'));
    const body = await readJsonBody(call.req);
    const endpoint = (body.endpoint ?? body) as { spec?: { endpoint_type?: unknown } };
    const type = endpoint.spec?.endpoint_type;
    if (!TYPES.includes(type as EndpointType)) {
      throw invalid(`spec.endpoint_type must be one of ${TYPES.join(', ')}`);
    }
    const { catalog, operations, log } = this.#deps;
    const name = `${branch}/endpoints/${id}`;
    if (catalog.get(name))
      throw new ApiError(409, 'ALREADY_EXISTS', `Endpoint '${name}' already exists`);
    if (
      type === 'ENDPOINT_TYPE_READ_WRITE' &&
      catalog.list(branch).some((e) => e.type === 'ENDPOINT_TYPE_READ_WRITE')
    ) {
      throw new ApiError(
        400,
        'FAILED_PRECONDITION',
        `Branch '${branch}' already has a READ_WRITE endpoint: a branch can only have one`,
      );
    }
    log(`api: endpoints: creating ${name} (${type})`);
    const work = catalog.create(branch, id, type as EndpointType).then(endpointJson);
    sendJson(call.res, 200, operations.running(name, work));
  }

  async #remove(call: ApiCall, branch: string, name: string): Promise<void> {
    if (this.#find(name).fixed) {
      throw new ApiError(
        400,
        'FAILED_PRECONDITION',
        `Endpoint '${name}' was made when the local Lakebase started (lb.env, lb.replicas ` +
          'name it): only lb.stop() removes it',
      );
    }
    if (this.#deps.isProtected(branch)) {
      throw new ApiError(
        400,
        'FAILED_PRECONDITION',
        `Endpoint '${name}' belongs to the protected branch '${branch}': computes of a ` +
          'protected branch cannot be deleted',
      );
    }
    this.#deps.log(`api: endpoints: deleting ${name}`);
    const work = this.#deps.catalog.remove(name).then(() => ({}));
    sendJson(call.res, 200, this.#deps.operations.running(name, work));
  }
}
