/**
 * A client of the Lakebase Autoscaling roles REST API of one branch,
 * `/api/2.0/postgres/projects/<p>/branches/<b>/roles`: list, get, create (with `role_id`),
 * update (with `update_mask`) and delete. Create, update and delete answer a long-running
 * operation, which is polled until done (see postgres-api.ts).
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { branchOf } from '../base/endpoint-path.js';
import { ValidationError } from '../base/errors.js';
import type { IdentityType } from '../base/role-name.js';
import { RolesApiError } from './api-errors.js';
import { type Operation, PostgresApi, type PostgresApiOptions } from './postgres-api.js';

export type { IdentityType };
export type RoleAuthMethod = 'LAKEBASE_OAUTH_V1' | 'PG_PASSWORD_SCRAM_SHA_256' | 'NO_LOGIN';

/** A role's configuration, as the API names it (`spec` and `status` of a Role). */
export interface LakebaseRoleSpec {
  postgres_role?: string;
  identity_type?: IdentityType;
  auth_method?: RoleAuthMethod;
  membership_roles?: Array<'DATABRICKS_SUPERUSER'>;
  attributes?: { createdb?: boolean; createrole?: boolean; bypassrls?: boolean };
}

/** A Role resource. Read what the role is from `status`; `spec` is what was asked for. */
export interface LakebaseRole {
  /** `projects/<p>/branches/<b>/roles/<role_id>` */
  name: string;
  parent?: string;
  role_id?: string;
  create_time?: string;
  update_time?: string;
  spec?: LakebaseRoleSpec;
  status?: LakebaseRoleSpec & { role_id?: string };
}

export type RolesApiOptions = PostgresApiOptions;

export class LakebaseRolesApi {
  readonly branch: string;
  readonly #api: PostgresApi;

  constructor(
    workspaceClient: WorkspaceClient,
    /** The branch, or an endpoint of it. */
    branchOrEndpoint: string,
    options: RolesApiOptions = {},
  ) {
    this.branch = branchOf(branchOrEndpoint);
    this.#api = new PostgresApi(
      workspaceClient,
      this.branch.split('/branches/')[0] as string,
      { name: 'roles', errorClass: RolesApiError },
      options,
    );
  }

  /** Every role of the branch (all pages). */
  list(): Promise<LakebaseRole[]> {
    return this.#api.listAll('list roles', `${this.branch}/roles`, 'roles');
  }

  async get(roleId: string): Promise<LakebaseRole> {
    return (await this.#api.call('read role', 'GET', this.#roleName(roleId))) as LakebaseRole;
  }

  /** Creates a role and waits for the operation; `roleId` is generated when omitted. */
  async create(spec: LakebaseRoleSpec, options: { roleId?: string } = {}): Promise<LakebaseRole> {
    const operation = (await this.#api.call('create role', 'POST', `${this.branch}/roles`, {
      query: options.roleId ? { role_id: options.roleId } : undefined,
      body: { spec },
    })) as Operation;
    return (await this.#api.wait('create role', operation)) as LakebaseRole;
  }

  /** Updates the fields of `updateMask` (e.g. `spec.membership_roles`) and waits. */
  async update(
    roleId: string,
    spec: LakebaseRoleSpec,
    updateMask: readonly string[],
  ): Promise<LakebaseRole> {
    const operation = (await this.#api.call('update role', 'PATCH', this.#roleName(roleId), {
      query: { update_mask: updateMask.join(',') },
      body: { name: this.#roleName(roleId), spec },
    })) as Operation;
    return (await this.#api.wait('update role', operation)) as LakebaseRole;
  }

  async delete(roleId: string, options: { reassignOwnedTo?: string } = {}): Promise<void> {
    const operation = (await this.#api.call('delete role', 'DELETE', this.#roleName(roleId), {
      query: options.reassignOwnedTo ? { reassign_owned_to: options.reassignOwnedTo } : undefined,
    })) as Operation;
    await this.#api.wait('delete role', operation);
  }

  #roleName(roleId: string): string {
    if (!/^[a-z0-9-]{1,63}$/.test(roleId)) {
      throw new ValidationError(`Invalid role id "${roleId}": lowercase letters, digits, hyphens`, {
        option: 'roleId',
      });
    }
    return `${this.branch}/roles/${roleId}`;
  }
}
