/**
 * A client of the Lakebase Autoscaling roles REST API of one branch,
 * `/api/2.0/postgres/projects/<p>/branches/<b>/roles`: list, get, create (with `role_id`),
 * update (with `update_mask`) and delete. Create, update and delete answer a long-running
 * operation, which is polled until done. Requests are authenticated by the workspace client's
 * own credentials (`config.authenticate`); they are sent with `fetch`, because the SDK's
 * `apiClient.request` drops the body of PATCH requests.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { branchOf } from '../base/endpoint-path.js';
import { redactSecrets, ValidationError } from '../base/errors.js';
import type { IdentityType } from '../base/role-name.js';
import { PermissionDeniedError, RolesApiError } from './permission-errors.js';

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

interface Operation {
  name?: string;
  done?: boolean;
  error?: { error_code?: string; message?: string };
  response?: unknown;
}

export interface RolesApiOptions {
  /** Give up waiting for an operation after this long (default 300000). */
  operationTimeoutMs?: number;
  /** Timeout of one HTTP call (default 30000). */
  requestTimeoutMs?: number;
}

export class LakebaseRolesApi {
  readonly branch: string;
  readonly #operationTimeoutMs: number;
  readonly #requestTimeoutMs: number;

  readonly #workspaceClient: WorkspaceClient;

  constructor(
    workspaceClient: WorkspaceClient,
    /** The branch, or an endpoint of it. */
    branchOrEndpoint: string,
    options: RolesApiOptions = {},
  ) {
    this.#workspaceClient = workspaceClient;

    this.branch = branchOf(branchOrEndpoint);
    this.#operationTimeoutMs = options.operationTimeoutMs ?? 300_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** Every role of the branch (all pages). */
  async list(): Promise<LakebaseRole[]> {
    const roles: LakebaseRole[] = [];
    let pageToken: string | undefined;
    do {
      const page = (await this.#call('list roles', 'GET', `${this.branch}/roles`, {
        query: pageToken ? { page_token: pageToken } : undefined,
      })) as { roles?: LakebaseRole[]; next_page_token?: string };
      roles.push(...(page.roles ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return roles;
  }

  async get(roleId: string): Promise<LakebaseRole> {
    return (await this.#call('read role', 'GET', this.#roleName(roleId))) as LakebaseRole;
  }

  /** Creates a role and waits for the operation; `roleId` is generated when omitted. */
  async create(spec: LakebaseRoleSpec, options: { roleId?: string } = {}): Promise<LakebaseRole> {
    const operation = (await this.#call('create role', 'POST', `${this.branch}/roles`, {
      query: options.roleId ? { role_id: options.roleId } : undefined,
      body: { spec },
    })) as Operation;
    return (await this.#wait('create role', operation)) as LakebaseRole;
  }

  /** Updates the fields of `updateMask` (e.g. `spec.membership_roles`) and waits. */
  async update(
    roleId: string,
    spec: LakebaseRoleSpec,
    updateMask: readonly string[],
  ): Promise<LakebaseRole> {
    const operation = (await this.#call('update role', 'PATCH', this.#roleName(roleId), {
      query: { update_mask: updateMask.join(',') },
      body: { name: this.#roleName(roleId), spec },
    })) as Operation;
    return (await this.#wait('update role', operation)) as LakebaseRole;
  }

  async delete(roleId: string, options: { reassignOwnedTo?: string } = {}): Promise<void> {
    const operation = (await this.#call('delete role', 'DELETE', this.#roleName(roleId), {
      query: options.reassignOwnedTo ? { reassign_owned_to: options.reassignOwnedTo } : undefined,
    })) as Operation;
    await this.#wait('delete role', operation);
  }

  #roleName(roleId: string): string {
    if (!/^[a-z0-9-]{1,63}$/.test(roleId)) {
      throw new ValidationError(`Invalid role id "${roleId}": lowercase letters, digits, hyphens`, {
        option: 'roleId',
      });
    }
    return `${this.branch}/roles/${roleId}`;
  }

  async #wait(action: string, operation: Operation): Promise<unknown> {
    const deadline = Date.now() + this.#operationTimeoutMs;
    let current = operation;
    let delay = 0;
    while (!current.done) {
      if (!current.name) {
        throw new RolesApiError(`The Lakebase roles API did not return an operation to ${action}`);
      }
      if (Date.now() > deadline) {
        throw new RolesApiError(
          `Gave up waiting for operation ${current.name} (${action}) after ${this.#operationTimeoutMs} ms`,
        );
      }
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(Math.max(delay * 2, 100), 2000);
      current = (await this.#call(action, 'GET', current.name)) as Operation;
    }
    if (current.error) {
      const code = current.error.error_code;
      throw new RolesApiError(
        `Lakebase could not ${action}: ${code ? `${code}: ` : ''}${redactSecrets(current.error.message ?? 'unknown error')}`,
        { errorCode: code },
      );
    }
    return current.response;
  }

  async #call(
    action: string,
    method: string,
    path: string,
    options: { query?: Record<string, string>; body?: unknown } = {},
  ): Promise<unknown> {
    const config = this.#workspaceClient.config;
    const url = new URL(`/api/2.0/postgres/${path}`, await config.getHost());
    for (const [key, value] of Object.entries(options.query ?? {})) {
      url.searchParams.set(key, value);
    }
    const headers = new Headers({ Accept: 'application/json' });
    if (options.body !== undefined) headers.set('Content-Type', 'application/json');
    let response: Response;
    try {
      await config.authenticate(headers);
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.#requestTimeoutMs),
      });
    } catch (error) {
      throw new RolesApiError(
        `Could not reach the Lakebase roles API to ${action} (${url.origin}): ${redactSecrets(
          error instanceof Error ? error.message : String(error),
        )}`,
        { cause: error },
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = undefined;
    }
    if (response.ok && body !== undefined) return body;
    const { error_code: errorCode, message } = (body ?? {}) as {
      error_code?: string;
      message?: string;
    };
    const detail = `HTTP ${response.status}${errorCode ? ` ${errorCode}` : ''}${
      message ? `: ${redactSecrets(message)}` : body === undefined ? ' (not JSON)' : ''
    }`;
    if (response.status === 403) {
      const permission = /\b(CAN_[A-Z_]+)\b/.exec(message ?? '')?.[1] ?? 'CAN_MANAGE';
      const project = this.branch.split('/branches/')[0];
      throw new PermissionDeniedError(`The Lakebase roles API refused to ${action}: ${detail}`, {
        missing: [`${permission} on project ${project}`],
      });
    }
    throw new RolesApiError(`The Lakebase roles API failed to ${action}: ${detail}`, {
      status: response.status,
      errorCode,
    });
  }
}
