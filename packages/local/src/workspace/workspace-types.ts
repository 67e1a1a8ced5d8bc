/** What the workspace's APIs are given by whoever runs the project (types only). */
import type { BranchEngine } from '../base/branch-types.js';
import type { EndpointCatalog } from '../base/endpoint-types.js';
import type { RoleStore } from '../base/role-types.js';
import type { SerialQueue } from '../base/serial-queue.js';

/** Where a branch's roles API keeps roles, and the queue its changes share with `addUser`. */
export interface RolesBackend {
  store: RoleStore;
  roleChanges: SerialQueue;
}

/** The project's side of the workspace: the main branch's roles, every endpoint, branches. */
export interface ProjectBackend {
  roles: RolesBackend;
  endpoints: EndpointCatalog;
  branches: BranchEngine;
}
