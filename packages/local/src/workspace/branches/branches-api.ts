/**
 * The branches REST API of Lakebase Autoscaling:
 *
 *   GET    /api/2.0/postgres/{project}/branches                 list (page_size, page_token,
 *                                                               show_deleted)
 *   POST   /api/2.0/postgres/{project}/branches?branch_id=…     create (body: a Branch, `{ spec }`)
 *   GET    /api/2.0/postgres/{branch}                           get
 *   PATCH  /api/2.0/postgres/{branch}?update_mask=spec.is_protected|spec.expiration
 *   DELETE /api/2.0/postgres/{branch}?purge=true|false          delete (soft unless purge)
 *   POST   /api/2.0/postgres/{branch}/undelete                  undelete
 *   POST   /api/2.0/postgres/{branch}/reset                     reset from parent (the public
 *                                                               reference has none: see README)
 *
 * Changes answer a long-running operation named `{branch}/operations/{uuid}`. Creating,
 * updating, deleting, undeleting and resetting need CAN_MANAGE on the project; reading CAN_USE.
 */
import type { Log } from '../../base/types.js';
import type { ApiCall } from '../api/api-call.js';
import { ApiError } from '../api/api-error.js';
import { readJsonBody } from '../api/json-body.js';
import type { Operations } from '../api/operations.js';
import { authorize } from '../api/permissions.js';
import { page, validResourceId } from '../api/resource-id.js';
import type { BranchesHandler } from '../api/router.js';
import type { Directory } from '../directory.js';
import { sendJson } from '../http.js';
import { branchJson } from './branch-record.js';
import { createSpec, expirationOf, specOf, updatePaths } from './branch-request.js';
import type { BranchService } from './branch-service.js';

export interface BranchesApiDeps {
  service: BranchService;
  directory: Directory;
  operations: Operations;
  log: Log;
}

export class BranchesApi implements BranchesHandler {
  readonly #deps: BranchesApiDeps;

  constructor(deps: BranchesApiDeps) {
    this.#deps = deps;
  }

  async handle(call: ApiCall, project: string, branchId: string | undefined, rest: string[]) {
    const { method, url, identity } = call;
    const { service, directory, operations } = this.#deps;
    const allow = (level: 'CAN_USE' | 'CAN_MANAGE', action: string) =>
      authorize(directory, project, identity, level, action);
    const answer = (value: unknown) => sendJson(call.res, 200, value);
    const running = (name: string, work: Promise<Parameters<typeof branchJson>[0]>) =>
      answer(operations.running(name, work.then(branchJson)));
    if (branchId === undefined) {
      if (method === 'GET' && rest.length === 0) {
        allow('CAN_USE', 'list branches');
        const all = service.list(url.searchParams.get('show_deleted') === 'true').map(branchJson);
        const { items, nextPageToken } = page(all, url, (branch) => branch.branch_id);
        return answer({
          branches: items,
          ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
        });
      }
      if (method === 'POST') {
        allow('CAN_MANAGE', 'create branches');
        const id = validResourceId('branch_id', url.searchParams.get('branch_id'));
        const spec = createSpec(specOf(await readJsonBody(call.req)), new Date());
        const name = `${project}/branches/${id}`;
        const { work } = await service.create(name, spec);
        return running(name, work);
      }
    } else {
      const name = `${project}/branches/${branchId}`;
      if (rest.length === 0 && method === 'GET') {
        allow('CAN_USE', 'read branches');
        return answer(branchJson(service.get(name)));
      }
      if (rest.length === 0 && method === 'PATCH') {
        allow('CAN_MANAGE', 'update branches');
        const paths = updatePaths(url.searchParams.get('update_mask'));
        const spec = specOf(await readJsonBody(call.req));
        const updated = service.update(name, paths, {
          isProtected: spec.is_protected as boolean | undefined,
          ...(paths.has('expiration') ? { expiration: expirationOf(spec, new Date()) } : {}),
        });
        return answer(operations.finished(name, branchJson(updated)));
      }
      if (rest.length === 0 && method === 'DELETE') {
        allow('CAN_MANAGE', 'delete branches');
        return running(name, service.delete(name, url.searchParams.get('purge') === 'true').work);
      }
      if (rest.length === 1 && method === 'POST' && rest[0] === 'undelete') {
        allow('CAN_MANAGE', 'undelete branches');
        return running(name, service.undelete(name).work);
      }
      if (rest.length === 1 && method === 'POST' && rest[0] === 'reset') {
        allow('CAN_MANAGE', 'reset branches');
        return running(name, service.reset(name).work);
      }
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${url.pathname}'`);
  }
}
